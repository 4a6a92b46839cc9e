"""``scripts/image``: build the Gavel image with podman on a base made of Debian packages.

Thin adapter over :mod:`gavel_devstack.image`: installs podman, runc and mmdebstrap when they
are missing, makes the base once per recipe key (kept as a tarball in
``$GAVEL_CACHE/image/base-<key>/`` and imported into podman's storage when absent), then runs
``podman build`` on the repository's ``Dockerfile``, whose layer cache makes a rebuild after a
source edit take seconds. Long steps report progress on stderr
(:mod:`gavel_devstack.progress`). Also called by the image's integration test.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from typing import Annotated

import typer
from rich.console import Console

from gavel_devstack import image, progress
from gavel_devstack.install import repo_root
from gavel_devstack.podman import image_dir, podman_env

err = Console(stderr=True, highlight=False, soft_wrap=True)
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="The Gavel image, built here with podman from Debian packages (no registry).",
)


class ImageError(RuntimeError):
    """A step of the build failed; the message names its log and carries the log's tail."""


def _step(name: str, what: str, argv: list[str], env: dict[str, str] | None = None) -> None:
    """Run one long step with its output in ``logs/<name>.log`` and its progress on stderr."""
    try:
        progress.run_step(argv, f"image: {what}", image_dir() / "logs" / f"{name}.log", env)
    except progress.StepError as exc:
        raise ImageError(str(exc)) from exc


def ensure_host_packages() -> None:
    """Install podman, runc and mmdebstrap from Debian when a command is missing."""
    missing = image.missing_packages(shutil.which)
    if not missing:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _step("apt", "apt-get update", ["apt-get", "update", "-qq"], env)
    _step(
        "apt",
        f"apt-get install {' '.join(missing)}",
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "runc", *missing],
        env,
    )


def _has_image(tag: str, env: dict[str, str]) -> bool:
    probe = subprocess.run(["podman", "image", "exists", tag], env=env, check=False)
    return probe.returncode == 0


def ensure_base(env: dict[str, str]) -> str:
    """The local base image's tag, made from Debian packages on first use of its recipe."""
    recipe = image.BASE
    tag = recipe.tag()
    if _has_image(tag, env):
        return tag
    folder = image_dir() / f"base-{recipe.key()}"
    tarball = folder / "rootfs.tar"
    if not (folder / ".built").exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / "rootfs.tar.partial"
        partial.unlink(missing_ok=True)
        _step(
            "base",
            f"making the {recipe.suite} base with mmdebstrap",
            recipe.mmdebstrap_argv(partial),
        )
        partial.replace(tarball)
        (folder / ".built").write_text(f"{tag}\n")
    _step("import", f"importing {tag}", ["podman", "import", str(tarball), tag], env)
    return tag


def build() -> str:
    """Build the image (whatever is cached is reused) and return its tag."""
    ensure_host_packages()
    env = podman_env()
    image_dir().mkdir(parents=True, exist_ok=True)
    # A test and a developer may build at once; podman copes, but two mmdebstraps would not.
    with (image_dir() / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        base = ensure_base(env)
        ca = image.ca_bundle(os.environ, os.path.isfile)
        argv = image.build_argv(repo_root(), base, image.IMAGE_TAG, ca)
        _step("build", f"building {image.IMAGE_TAG}", argv, env)
    return image.IMAGE_TAG


@app.command("build")
def build_command() -> None:
    """Build the image (seconds when only the sources changed); prints its tag."""
    try:
        tag = build()
    except ImageError as exc:
        err.print(str(exc), style="red", soft_wrap=True, markup=False)
        raise typer.Exit(1) from exc
    print(tag)


@app.command("env")
def env_command(
    export: Annotated[bool, typer.Option(help="Prefix with `export ` for eval.")] = False,
) -> None:
    """Print CONTAINERS_CONF=..., what podman needs to run the image here by hand."""
    conf = podman_env()["CONTAINERS_CONF"]
    print(f"{'export ' if export else ''}CONTAINERS_CONF={conf}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
