#!/usr/bin/env bash
# Builds what makes a local API server run workloads without a kubelet: kube-controller-manager
# and kube-scheduler (through build-k8s.sh, at the same Kubernetes version) and KWOK, which plays
# the kubelet of fake nodes (pods are scheduled, started and reported ready, no container runs).
#
# Called by gavel_devstack.install on first use of the stack's `nodes` component; a stamp file
# marks a finished build, so later calls return at once.
set -euo pipefail
k8s_version=${1:?usage: build-nodes.sh K8S_VERSION KWOK_VERSION OUT_DIR}
kwok_version=${2:?usage: build-nodes.sh K8S_VERSION KWOK_VERSION OUT_DIR}
out=${3:?usage: build-nodes.sh K8S_VERSION KWOK_VERSION OUT_DIR}
[ -f "$out/.built" ] && exit 0
here=$(cd "$(dirname "$0")" && pwd)

bash "$here/build-k8s.sh" "$k8s_version" "$out/k8s" \
  k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler

mkdir -p "$out/bin"
GOFLAGS=-mod=mod GOBIN="$out/kwok.partial" go install -v -trimpath -ldflags "-s -w" \
  "sigs.k8s.io/kwok/cmd/kwok@${kwok_version}"
mv "$out/k8s/bin/kube-controller-manager" "$out/k8s/bin/kube-scheduler" "$out/kwok.partial/kwok" "$out/bin/"
rm -rf "$out/k8s" "$out/kwok.partial"
echo "kubernetes ${k8s_version} kwok ${kwok_version}" > "$out/.built"
