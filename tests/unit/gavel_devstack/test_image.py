"""The image's pure decisions: the base's key and recipe, podman's settings, what to install."""

from __future__ import annotations

import resource
import tomllib
from dataclasses import replace
from pathlib import Path

from gavel_devstack import image

INF = resource.RLIM_INFINITY


def test_base_key_changes_with_any_part_of_the_recipe() -> None:
    base = image.BASE
    variants = [
        replace(base, packages=(*base.packages, "curl")),
        replace(base, suite="trixie"),
        replace(base, sources=base.sources[:1]),
        replace(base, dpkg_options=()),
    ]
    keys = {base.key(), *(v.key() for v in variants)}
    assert len(keys) == 1 + len(variants)
    assert base.key() == replace(base).key()
    assert base.tag() == f"localhost/gavel-base:bookworm-{base.key()}"


def test_mmdebstrap_writes_a_tar_of_the_listed_packages() -> None:
    argv = image.BASE.mmdebstrap_argv(Path("/c/rootfs.tar.partial"))
    assert argv[:4] == [
        "mmdebstrap",
        "--variant=minbase",
        "--format=tar",
        "--include=python3,python3-venv,ca-certificates",
    ]
    tail = ["bookworm", "/c/rootfs.tar.partial", *image.MIRRORS]
    assert argv[-len(tail) :] == tail


def test_containers_conf_caps_ulimits_at_what_podman_may_set() -> None:
    conf = tomllib.loads(image.containers_conf(20_000, 96_365, 32_768))
    assert conf["containers"]["default_ulimits"] == ["nofile=20000:20000", "nproc=32768:32768"]
    assert conf["engine"] == {"runtime": "runc", "cgroup_manager": "cgroupfs"}
    low = tomllib.loads(image.containers_conf(4096, 1000, 32_768))
    assert low["containers"]["default_ulimits"] == ["nofile=4096:4096", "nproc=1000:1000"]


def test_unlimited_nofile_is_left_to_podman() -> None:
    conf = tomllib.loads(image.containers_conf(INF, INF, 4_194_304))
    assert conf["containers"]["default_ulimits"] == ["nproc=4194304:4194304"]


def test_only_missing_commands_are_installed_and_runc_is_one() -> None:
    assert image.missing_packages(lambda cmd: f"/usr/bin/{cmd}") == []
    have = {"podman"}
    assert image.missing_packages(lambda c: c if c in have else None) == ["mmdebstrap", "runc"]


def test_ca_bundle_prefers_what_the_host_told_pip() -> None:
    files = {"/p.pem", "/s.pem", "/etc/ssl/certs/ca-certificates.crt"}
    env = {"PIP_CERT": "/p.pem", "SSL_CERT_FILE": "/s.pem"}
    assert image.ca_bundle(env, files.__contains__) == "/p.pem"
    assert (
        image.ca_bundle(env | {"PIP_CERT": "/gone.pem"}, lambda f: f != "/gone.pem" and f in files)
        == "/s.pem"
    )
    assert image.ca_bundle({}, files.__contains__) == "/etc/ssl/certs/ca-certificates.crt"
    assert image.ca_bundle({}, lambda _: False) is None


def test_build_passes_the_base_and_the_bundle_only_when_there_is_one() -> None:
    argv = image.build_argv(Path("/repo"), "localhost/gavel-base:k", image.IMAGE_TAG, "/ca.pem")
    assert argv[:3] == ["podman", "build", "--layers"]
    assert "BASE=localhost/gavel-base:k" in argv
    assert argv[argv.index("--secret") + 1] == "id=ca-bundle,src=/ca.pem"
    assert argv[-3:] == ["--file", "/repo/Dockerfile", "/repo"]
    assert "--secret" not in image.build_argv(Path("/r"), "b", "t", None)


def test_the_tag_is_the_one_the_operator_renders() -> None:
    assert image.IMAGE_TAG == "ghcr.io/gavel-dev/gavel:0.1.0"
