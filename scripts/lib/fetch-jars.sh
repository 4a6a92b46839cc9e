#!/usr/bin/env bash
# Resolves a Maven artifact set (a pom in scripts/lib/poms/) into a flat folder of jars.
#
# Called by gavel_devstack.install on first use of Kafka or Cassandra; a stamp file marks a
# finished copy so later calls return at once. Maven's own repository cache (~/.m2) sits outside
# the clone as well, so even a new cache folder resolves without the network.
set -euo pipefail
pom=${1:?usage: fetch-jars.sh POM VERSION OUT_DIR}
version=${2:?usage: fetch-jars.sh POM VERSION OUT_DIR}
out=${3:?usage: fetch-jars.sh POM VERSION OUT_DIR}
[ -f "$out/.fetched" ] && exit 0
rm -rf "$out/lib.partial"
# Not quiet: each "Downloaded from" line is the progress a first run shows (gavel_devstack.progress).
mvn -B -f "$pom" -Dcomponent.version="$version" \
  org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$out/lib.partial"
rm -rf "$out/lib"
mv "$out/lib.partial" "$out/lib"
echo "$version" > "$out/.fetched"
