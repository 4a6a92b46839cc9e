"""Where Gavel's kinds live in the Kubernetes API: group, version and plurals. Pure.

Named once: the CRDs (:mod:`gavel_operator.crds`) are generated with them, and the merch console
(:mod:`gavel.console.hub`) addresses Drops and Regions in the hub by them.
"""

from __future__ import annotations

GROUP = "gavel.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
DROPS = "drops"
"""Plural of ``Drop`` (namespaced)."""
REGIONS = "regions"
"""Plural of ``Region`` (cluster-scoped)."""
