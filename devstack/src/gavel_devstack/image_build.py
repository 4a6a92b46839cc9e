"""``scripts/image``: build the Gavel image with podman on a base made of Debian packages.

Thin adapter over :mod:`gavel_devstack.image`: installs podman, runc and mmdebstrap when they
are missing, makes the base once per recipe key (kept as a tarball in
``$GAVEL_CACHE/image/base-<key>/`` and imported into podman's storage when absent), then runs
``podman build`` on the repository's ``Dockerfile``, whose layer cache makes a rebuild after a
source edit take seconds. Long steps report progress on stderr: a live status line on a
terminal, plain lines otherwise. Also called by the image's integration test.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gavel_devstack import image
from gavel_devstack.install import repo_root
from gavel_devstack.podman import image_dir, podman_env

PLAIN_PROGRESS_EVERY_S = 30.0
"""How often a step that is still running says so when stderr is not a terminal (CI logs)."""

err = Console(stderr=True, highlight=False, soft_wrap=True)
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="The Gavel image, built here with podman from Debian packages (no registry).",
)


class ImageError(RuntimeError):
    """A step of the build failed; the message names its log and carries the log's tail."""


def _last_line(log: Path) -> str:
    with log.open("rb") as f:
        f.seek(max(0, log.stat().st_size - 4096))
        lines = f.read().decode(errors="replace").strip().splitlines()
    return lines[-1][:100] if lines else ""


def _step(name: str, what: str, argv: list[str], env: dict[str, str] | None = None) -> None:
    """Run one long step with its output in ``logs/<name>.log`` and its progress on stderr."""
    logs = image_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    start = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        if err.is_terminal:
            with err.status(what) as status:
                while proc.poll() is None:
                    elapsed = time.monotonic() - start
                    status.update(f"{what} ({elapsed:.0f} s)  [dim]{_last_line(log)}[/]")
                    time.sleep(0.5)
        else:
            err.print(f"image: {what} ...")
            while True:
                try:
                    proc.wait(timeout=PLAIN_PROGRESS_EVERY_S)
                    break
                except subprocess.TimeoutExpired:
                    elapsed = time.monotonic() - start
                    err.print(f"image: {what}: {elapsed:.0f} s, {_last_line(log)}")
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise ImageError(f"{what} failed (exit {proc.returncode}; log {log}):\n{tail}")
    err.print(f"image: {what}: done in {elapsed:.0f} s")


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
