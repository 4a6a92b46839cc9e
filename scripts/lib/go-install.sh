#!/usr/bin/env bash
# Builds one Go command from its module into a versioned cache folder, once.
#
# Used by build-helm.sh and build-promtool.sh. A finished build is marked by a stamp file, so
# later calls return at once; GOBIN points at a partial folder that is renamed only once the
# build succeeded, so an interrupted build is never used. Only modules without local replace
# directives build this way (`go install module@version` refuses them).
set -euo pipefail
usage="usage: go-install.sh OUT_DIR PACKAGE@VERSION [go install flags...]"
out=${1:?$usage}
package=${2:?$usage}
shift 2
[ -f "$out/.built" ] && exit 0

# Two sessions may ask at once: the second waits for the first and then finds the stamp.
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
[ -f "$out/.built" ] && exit 0

rm -rf "$out/bin.partial"
GOBIN="$out/bin.partial" nice -n 10 go install -v -trimpath "$@" "$package"
rm -rf "$out/bin"
mv "$out/bin.partial" "$out/bin"
echo "$package" > "$out/.built"
