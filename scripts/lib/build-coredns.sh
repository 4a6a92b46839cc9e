#!/usr/bin/env bash
# Builds CoreDNS, the cluster DNS of the stack's real nodes, from its Go module into a versioned
# cache folder: a static binary with only the plugins the nodes use (kubernetes, cache, errors,
# log, health, ready), so the build skips every cloud SDK a full CoreDNS pulls in.
#
# Called by gavel_devstack.install on first use of the `kubelet` component; a stamp file marks
# a finished build, so later calls return at once. CoreDNS's own main imports every plugin
# (core/plugin); ours imports a few and sets dnsserver.Directives, the order CoreDNS chains
# them in (the upstream order, cut down).
set -euo pipefail
version=${1:?usage: build-coredns.sh VERSION OUT_DIR}
out=${2:?usage: build-coredns.sh VERSION OUT_DIR}
[ -f "$out/.built" ] && exit 0

echo "building coredns ${version}"
export GOFLAGS=-mod=mod
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/main.go" <<'GO'
// Command coredns is CoreDNS with the plugins a local cluster's DNS needs.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

func init() {
	dnsserver.Directives = []string{"ready", "health", "errors", "log", "cache", "kubernetes"}
}

func main() { coremain.Run() }
GO
cd "$work"
go mod init gavel.local/coredns >/dev/null 2>&1
go mod edit -require="github.com/coredns/coredns@${version}"
go mod tidy >/dev/null
mkdir -p "$out/bin.partial"
CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "-s -w" -o "$out/bin.partial/coredns" .
rm -rf "$out/bin"
mv "$out/bin.partial" "$out/bin"
echo "coredns ${version}" > "$out/.built"
