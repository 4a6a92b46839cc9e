#!/usr/bin/env bash
# Builds Prometheus' promtool from its Go module into a versioned cache folder.
#
# Called by gavel_devstack.install.ensure_promtool() (scripts/check-rules) on first use;
# go-install.sh builds it once (stamp, lock, partial folder, nice). The Prometheus module is
# tagged v0.3XX.Y for Prometheus 3.XX.Y and has no local replace directives. Its build pulls
# the service-discovery SDKs of every cloud: minutes on a cold module cache.
set -euo pipefail
version=${1:?usage: build-promtool.sh VERSION OUT_DIR}
out=${2:?usage: build-promtool.sh VERSION OUT_DIR}
exec "$(dirname "$0")/go-install.sh" "$out" \
  "github.com/prometheus/prometheus/cmd/promtool@${version}" -ldflags "-s -w"
