#!/usr/bin/env bash
# Builds the Helm 3 CLI from its Go module into a versioned cache folder.
#
# Called by gavel_devstack.install.ensure_helm() on first use; go-install.sh builds it once
# (stamp, lock, partial folder). Unlike Kubernetes, helm.sh/helm/v3 has no local replace
# directives, so a plain `go install module@version` works.
set -euo pipefail
helm_version=${1:?usage: build-helm.sh HELM_VERSION OUT_DIR}
out=${2:?usage: build-helm.sh HELM_VERSION OUT_DIR}

# `helm version` reports these variables; without them it would say "v3.22" with no patch.
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${helm_version}"
ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"

exec "$(dirname "$0")/go-install.sh" "$out" "helm.sh/helm/v3/cmd/helm@${helm_version}" \
  -ldflags "$ldflags"
