from __future__ import annotations

from pathlib import Path

from gavel_devstack import clusters, layout
from gavel_devstack.install import Installed

INST = Installed(*(Path(f"/opt/{name}") for name in ("k8s", "nodes", "kafka", "cas", "java", "rd")))
CREDS = clusters.Credentials("admin-token", Path("/run/sa.key"), Path("/run/sa.pub"))


def test_a_control_plane_writes_the_kubeconfig_it_is_given_and_starts_etcd_first(
    tmp_path: Path,
) -> None:
    ports = layout.ports_for_block(3).regions["eu"]
    kubeconfig = tmp_path / "kc-eu"
    etcd, apiserver = clusters.control_plane(
        INST, tmp_path, "eu", ports.k8s, creds=CREDS, kubeconfig=kubeconfig
    )
    assert (etcd.key, apiserver.key) == ("etcd/eu", "apiserver/eu")
    assert apiserver.after == (etcd.key,)
    assert f"--service-account-signing-key-file={CREDS.service_account_key}" in apiserver.argv
    assert f"--service-account-key-file={CREDS.service_account_pub}" in apiserver.argv
    assert f"127.0.0.1:{ports.k8s.apiserver}" in apiserver.files[kubeconfig]
    assert "admin-token" in apiserver.files[tmp_path / "k8s" / "eu" / "tokens.csv"]
    assert not list(tmp_path.iterdir()), "building components must not touch the run folder"


def test_a_regions_nodes_wait_for_its_api_server_and_use_its_kubeconfig(tmp_path: Path) -> None:
    ports = layout.ports_for_block(3).regions["us"]
    kubeconfig = tmp_path / "kc-us"
    comps = clusters.nodes(INST, tmp_path, "us", ports, creds=CREDS, kubeconfig=kubeconfig)
    assert [c.kind for c in comps] == ["controllers", "scheduler", "kwok"]
    for comp in comps:
        assert comp.after == ("apiserver/us",)
        assert f"--kubeconfig={kubeconfig}" in comp.argv
    controllers = comps[0]
    assert f"--service-account-private-key-file={CREDS.service_account_key}" in controllers.argv
