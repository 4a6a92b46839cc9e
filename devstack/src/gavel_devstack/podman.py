"""podman as this machine needs it: the ``containers.conf`` written from the host's limits,
and the environment every podman command runs in.

Called by :mod:`gavel_devstack.image_build` (building the image) and
:mod:`gavel_devstack.node_host` (exporting images for the real nodes' containerd); the settings
themselves are decided in :mod:`gavel_devstack.image`.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

from gavel_devstack import image
from gavel_devstack.install import cache_dir


def image_dir() -> Path:
    return cache_dir() / "image"


def podman_env() -> dict[str, str]:
    """The environment to run podman in: this machine's containers.conf, written afresh."""
    conf = image_dir() / "containers.conf"
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    text = image.containers_conf(nofile, nproc, pid_max)
    if not conf.exists() or conf.read_text() != text:
        conf.parent.mkdir(parents=True, exist_ok=True)
        partial = conf.with_suffix(".partial")
        partial.write_text(text)
        partial.replace(conf)
    return {**os.environ, "CONTAINERS_CONF": str(conf)}
