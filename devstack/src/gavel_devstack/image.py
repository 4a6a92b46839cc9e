"""The Gavel image built on this machine: the recipe of its Debian base and podman's settings.

Pure decisions for :mod:`gavel_devstack.image_build` (which runs apt, mmdebstrap and podman
behind ``scripts/image``) and for the tests that run the image. The ``Dockerfile`` stays the one
recipe of the image itself; here is only what replaces a registry: a base made of Debian
packages, named by a key of everything that goes into it.
"""

from __future__ import annotations

import hashlib
import json
import resource
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from gavel_operator.rendering import Images

IMAGE_TAG = Images().gavel
"""The tag the operator renders by default, so the built image is the one its pods ask for."""

HOST_TOOLS = {"podman": "podman", "runc": "runc", "mmdebstrap": "mmdebstrap"}
"""Command -> the Debian package that provides it. No buildah CLI: ``podman build`` embeds it;
runc is named because podman would otherwise pick crun, which refuses hybrid cgroups."""

MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)


@dataclass(frozen=True, slots=True)
class BaseRecipe:
    """What ``mmdebstrap`` makes the base from; its key names the cached tarball and tag."""

    suite: str
    variant: str
    packages: tuple[str, ...]
    sources: tuple[str, ...]
    dpkg_options: tuple[str, ...]

    def key(self) -> str:
        """A digest of every field: a changed package list or mirror is a new base."""
        canonical = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(canonical).hexdigest()[:16]

    def tag(self) -> str:
        return f"localhost/gavel-base:{self.suite}-{self.key()}"

    def mmdebstrap_argv(self, tarball: Path) -> list[str]:
        return [
            "mmdebstrap",
            f"--variant={self.variant}",
            # The output is written under a temporary name, so its suffix cannot tell the format.
            "--format=tar",
            f"--include={','.join(self.packages)}",
            *(f"--dpkgopt={opt}" for opt in self.dpkg_options),
            self.suite,
            str(tarball),
            *self.sources,
        ]


BASE = BaseRecipe(
    suite="bookworm",
    variant="minbase",
    # bookworm's python3 is CPython 3.11, the project's version; python3-venv brings ensurepip
    # for the Dockerfile's venvs, ca-certificates lets pip reach PyPI over TLS.
    packages=("python3", "python3-venv", "ca-certificates"),
    sources=MIRRORS,
    # Documentation and translations are most of a minbase's weight after Python; the
    # copyright files stay, as the licences ask.
    dpkg_options=(
        "path-exclude=/usr/share/doc/*",
        "path-exclude=/usr/share/man/*",
        "path-exclude=/usr/share/locale/*",
        "path-include=/usr/share/doc/*/copyright",
    ),
)


def _ulimit(name: str, hard: int) -> list[str]:
    # Unlimited needs no cap: podman's own default (the kernel maximum) is then allowed.
    return [] if hard == resource.RLIM_INFINITY else [f"{name}={hard}:{hard}"]


def containers_conf(nofile_hard: int, nproc_hard: int, pid_max: int) -> str:
    """podman's settings for this kind of machine (docs/dev-stack.md says why each is needed).

    The ulimits are the caller's own hard limits: without CAP_SYS_RESOURCE runc cannot raise a
    limit, and podman's default asks for 1048576, so every container would fail. podman also
    lowers its own nproc to the kernel's ``pid_max`` (seen: 32768 under a shell's 96365), and a
    container cannot get more than podman has, so nproc is capped there too.
    """
    nproc = pid_max if nproc_hard == resource.RLIM_INFINITY else min(nproc_hard, pid_max)
    ulimits = _ulimit("nofile", nofile_hard) + _ulimit("nproc", nproc)
    return "\n".join(
        [
            "# Written by scripts/image (gavel_devstack.image); rewritten on every run.",
            "[containers]",
            f"default_ulimits = {json.dumps(ulimits)}",
            "",
            "[engine]",
            'runtime = "runc"',
            'cgroup_manager = "cgroupfs"',
            "",
        ]
    )


def missing_packages(which: Callable[[str], str | None]) -> list[str]:
    """The Debian packages to install for the commands ``which`` cannot find."""
    return sorted({pkg for cmd, pkg in HOST_TOOLS.items() if which(cmd) is None})


def ca_bundle(env: Mapping[str, str], exists: Callable[[str], bool]) -> str | None:
    """The host's CA bundle, handed to the build as a secret for pip behind an inspecting proxy.

    The build's own pip trusts only the base's certificates; a host that reaches PyPI through a
    proxy with its own CA has told its tools where that CA is, in one of these variables.
    """
    candidates = (
        env.get("PIP_CERT"),
        env.get("SSL_CERT_FILE"),
        env.get("REQUESTS_CA_BUNDLE"),
        "/etc/ssl/certs/ca-certificates.crt",
    )
    return next((c for c in candidates if c and exists(c)), None)


def build_argv(context: Path, base_tag: str, tag: str, ca: str | None) -> list[str]:
    """``podman build`` of the repository's Dockerfile on the local base, reusing its layers."""
    secret = ["--secret", f"id=ca-bundle,src={ca}"] if ca else []
    return [
        "podman",
        "build",
        "--layers",
        "--build-arg",
        f"BASE={base_tag}",
        *secret,
        "--tag",
        tag,
        "--file",
        str(context / "Dockerfile"),
        str(context),
    ]
