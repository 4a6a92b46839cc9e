#!/usr/bin/env bash
# Builds what makes a local cluster's node real: kubelet and kube-proxy (through build-k8s.sh, at
# the same Kubernetes version as the API servers) and the static pause binary of the pods'
# sandbox image, written here in C-free Go so the image needs no registry.
#
# Called by gavel_devstack.install on first use of the stack's `kubelet` component; a stamp file
# marks a finished build, so later calls return at once.
set -euo pipefail
k8s_version=${1:?usage: build-kubelet.sh K8S_VERSION OUT_DIR}
out=${2:?usage: build-kubelet.sh K8S_VERSION OUT_DIR}
[ -f "$out/.built" ] && exit 0
here=$(cd "$(dirname "$0")" && pwd)

echo "building kubelet and kube-proxy ${k8s_version}"
bash "$here/build-k8s.sh" "$k8s_version" "$out/k8s" \
  k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy

echo "building the pause binary"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/main.go" <<'GO'
// Command pause holds a pod's namespaces open until it is told to stop.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
GO
(cd "$work" && go mod init gavel.local/pause >/dev/null 2>&1 &&
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/pause" .)

mkdir -p "$out/bin"
mv "$out/k8s/bin/kubelet" "$out/k8s/bin/kube-proxy" "$work/pause" "$out/bin/"
rm -rf "$out/k8s"
echo "kubernetes ${k8s_version} kubelet kube-proxy pause" > "$out/.built"
