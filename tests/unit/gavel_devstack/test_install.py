from __future__ import annotations

import threading
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


def test_two_builds_of_one_cache_folder_run_one_after_the_other(tmp_path: Path) -> None:
    # Each "build" claims a marker (mkdir is atomic) and fails if the other holds it: run
    # unlocked, the two overlap inside the sleep and one of them exits 1.
    out = tmp_path / "k8s-v0"
    marker = tmp_path / "building"
    script = f"mkdir {marker} || exit 1; sleep 0.3; rmdir {marker}"
    errors: list[BaseException] = []

    def build() -> None:
        try:
            install._run(["bash", "-c", script], "building", out)
        except install.InstallError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_a_failed_build_reports_the_tail_of_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAVEL_CACHE", str(tmp_path))
    with pytest.raises(install.InstallError, match=r"building x failed \(exit 3; log .*\):\nboom"):
        install._run(["bash", "-c", "echo boom; exit 3"], "building x", tmp_path / "x")


def test_a_finished_build_is_not_run_again(tmp_path: Path) -> None:
    out = tmp_path / "kafka-1"
    out.mkdir()
    (out / ".fetched").write_text("")
    install._run(["bash", "-c", "exit 9"], "fetching Kafka", out)


def test_a_build_waiting_for_the_lock_says_so_then_finds_the_stamp(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "helm-1"
    started = threading.Event()

    def first() -> None:
        script = f"touch {tmp_path}/started; sleep 0.5; mkdir -p {out}; touch {out}/.built"
        install._run(["bash", "-c", script], "building helm", out)

    thread = threading.Thread(target=first)
    thread.start()
    while not (tmp_path / "started").exists():
        started.wait(0.01)
    # Had it run, the second build would fail: it must wait, then find the first one's stamp.
    install._run(["bash", "-c", "exit 7"], "building helm", out)
    thread.join()
    assert "building helm: waiting for another process doing the same" in capsys.readouterr().err


def test_a_real_node_without_containerd_names_the_packages_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("shutil.which", lambda _name: None)
    with pytest.raises(install.InstallError, match=r"apt-get install .*containerd.*runc"):
        install.ensure({"kubelet"})
