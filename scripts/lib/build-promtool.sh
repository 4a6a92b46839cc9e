#!/usr/bin/env bash
# Builds Prometheus' promtool from its Go module into a versioned cache folder.
#
# Called by gavel_devstack.install.ensure_promtool() (scripts/check-rules) on first use;
# go-install.sh builds it once (stamp, lock, partial folder, nice). The Prometheus module is
# tagged v0.3XX.Y for Prometheus 3.XX.Y and has no local replace directives.
# TAGS is gavel_devstack.versions.PROMTOOL_TAGS: remove_all_sd (Prometheus' own build tag) leaves out the service-discovery plugins of every
# cloud (AWS, Azure, GCE, ...): checking and testing rule files never uses them, and their SDKs
# were most of a cold build's downloads and compile time.
set -euo pipefail
usage="usage: build-promtool.sh VERSION OUT_DIR TAGS"
version=${1:?$usage}
out=${2:?$usage}
tags=${3:?$usage}
exec "$(dirname "$0")/go-install.sh" "$out" \
  "github.com/prometheus/prometheus/cmd/promtool@${version}" -tags "$tags" -ldflags "-s -w"
