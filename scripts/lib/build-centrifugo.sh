#!/usr/bin/env bash
# Builds Centrifugo (the fan-out benchmark's reference peer) from the Go module proxy into a
# versioned cache folder; returns at once when it is already there. Used by bench/fanout only.
set -euo pipefail
version=${1:?usage: build-centrifugo.sh VERSION OUT_DIR}
out=${2:?usage: build-centrifugo.sh VERSION OUT_DIR}
[ -x "$out/bin/centrifugo" ] && exit 0
mkdir -p "$out"
GOBIN="$out/bin.partial" go install "github.com/centrifugal/centrifugo/v6@${version}"
rm -rf "$out/bin"
mv "$out/bin.partial" "$out/bin"
