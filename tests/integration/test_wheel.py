"""The product's wheel, as `pip install .` and the image get it: no dev tooling inside."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

DEV_ONLY_PACKAGES = ("gavel_devstack", "tests", "bench")
DEV_ONLY_REQUIREMENTS = ("cryptography", "httpx", "selenium")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    uv = shutil.which("uv")
    assert uv, "uv is installed by scripts/bootstrap"
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([uv, "build", "--wheel", "-q", "-o", str(out), str(ROOT)], check=True)
    (built,) = out.glob("gavel-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_carries_only_the_product(wheel: zipfile.ZipFile) -> None:
    tops = {Path(name).parts[0] for name in wheel.namelist()}
    assert {"gavel", "gavel_operator"} <= tops
    assert not tops & set(DEV_ONLY_PACKAGES), tops
    assert "gavel/_lua/place_bid.lua" in wheel.namelist()
    # The operator renders the Redis start scripts from its package.
    for script in ("redis-node.sh", "redis-sentinel.sh"):
        assert f"gavel_operator/scripts/{script}" in wheel.namelist()
    # The drop page's template and assets: fan-outs serve them from the installed package.
    for asset in ("drop.html", "message.html", "public/drop.js", "public/drop.css"):
        assert f"gavel/fanout/assets/{asset}" in wheel.namelist()
    # The demo login that mints tokens for anyone exists only in the dev stack.
    assert not [n for n in wheel.namelist() if "demo_login" in n]


def test_dev_tooling_is_no_runtime_dependency(wheel: zipfile.ZipFile) -> None:
    (metadata,) = (n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    runtime = [
        line.removeprefix("Requires-Dist: ")
        for line in wheel.read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist: ") and "extra ==" not in line
    ]
    assert runtime, "the wheel names its runtime dependencies"
    assert not [r for r in runtime if r.startswith(DEV_ONLY_REQUIREMENTS)], runtime
