#!/usr/bin/env bash
# Builds etcd, kube-apiserver and kubectl (or the Go packages given after OUT_DIR, e.g.
# k8s.io/kubernetes/cmd/kube-scheduler) from their Go modules into a versioned cache folder.
#
# Called by scripts/stack (gavel_devstack.install) on first use; a finished build is marked by a
# stamp file, so later calls return at once. `go install` cannot build these commands because
# k8s.io/kubernetes replaces its staging modules with local paths, so we make a throwaway wrapper
# module that pins every staging module to the matching published v0.X.Y version. etcd is built
# in the same module (a three-line main calling etcdmain.Main) at the version Kubernetes itself
# pins, so the packages they share compile once.
set -euo pipefail
k8s_version=${1:?usage: build-k8s.sh K8S_VERSION OUT_DIR [GO_PACKAGE...]}
out=${2:?usage: build-k8s.sh K8S_VERSION OUT_DIR [GO_PACKAGE...]}
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(./etcd k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
[ -f "$out/.built" ] && exit 0

export GOFLAGS=-mod=mod
staging_version="v0.${k8s_version#v1.}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
go mod init gavel.local/k8sbuild >/dev/null 2>&1

gomod=$(go mod download -json "k8s.io/kubernetes@${k8s_version}" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
edits=(-require="k8s.io/kubernetes@${k8s_version}")
while read -r module; do
  edits+=(-replace="${module}=${module}@${staging_version}")
done < <(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod")
go mod edit "${edits[@]}"
etcd_version=$(sed -n 's#^\s*go.etcd.io/etcd/server/v3 \(v[0-9.]*\).*#\1#p' "$gomod")
go mod edit -require="go.etcd.io/etcd/server/v3@${etcd_version}"

mkdir -p etcd
cat > etcd/main.go <<'GO'
// Command etcd is upstream etcd's own entry point, built at the version Kubernetes pins.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO

major=${k8s_version#v}; major=${major%%.*}
minor=${k8s_version#v*.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X ${pkg}.gitVersion=${k8s_version} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor}"
  ldflags+=" -X ${pkg}.gitTreeState=clean"
done

mkdir -p "$out/bin.partial"
go build -v -trimpath -ldflags "$ldflags" -o "$out/bin.partial/" "${targets[@]}"
rm -rf "$out/bin"
mv "$out/bin.partial" "$out/bin"
echo "kubernetes ${k8s_version} etcd ${etcd_version}" > "$out/.built"
