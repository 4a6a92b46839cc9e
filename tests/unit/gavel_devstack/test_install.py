from __future__ import annotations

from pathlib import Path

import pytest

from gavel_devstack import install

CLONE = Path(__file__).resolve().parents[3]


def test_repo_root_is_gavel_root_when_the_scripts_export_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GAVEL_ROOT", str(tmp_path))
    assert install.repo_root() == tmp_path


def test_repo_root_is_found_from_the_package_without_gavel_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GAVEL_ROOT", raising=False)
    assert install.repo_root() == CLONE
    assert (install.repo_root() / "devstack" / "src" / "gavel_devstack").is_dir()
