#!/usr/bin/env bash
# Builds the Helm 3 CLI from its Go module into a versioned cache folder.
#
# Called by gavel_devstack.install.ensure_helm() on first use; a finished build is marked by a
# stamp file, so later calls return at once. Unlike Kubernetes, helm.sh/helm/v3 has no local
# replace directives, so a plain `go install module@version` works; GOBIN points at a partial
# folder that is renamed only once the build succeeded, so an interrupted build is never used.
set -euo pipefail
helm_version=${1:?usage: build-helm.sh HELM_VERSION OUT_DIR}
out=${2:?usage: build-helm.sh HELM_VERSION OUT_DIR}
[ -f "$out/.built" ] && exit 0

# Two test sessions may ask at once: the second waits for the first and then finds the stamp.
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
[ -f "$out/.built" ] && exit 0

# `helm version` reports these variables; without them it would say "v3.22" with no patch.
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${helm_version}"
ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"

rm -rf "$out/bin.partial"
GOBIN="$out/bin.partial" \
  go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@${helm_version}"
rm -rf "$out/bin"
mv "$out/bin.partial" "$out/bin"
echo "helm ${helm_version}" > "$out/.built"
