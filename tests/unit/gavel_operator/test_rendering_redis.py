from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from gavel import endpoints, redis_replication
from gavel.redis_persistence import REDIS_PERSISTENCE_ARGS
from gavel.resources.region import SENTINEL_URL, RegionSpec
from gavel_operator import rendering_redis as rr
from gavel_operator.rendering import RegionView, render_region
from tests.unit.gavel_operator.test_rendering import EXAMPLES

Obj = dict[str, Any]
RESOURCES: Obj = {"requests": {"cpu": "1"}}


def render(replicas: int) -> dict[str, Obj]:
    objects = rr.render_redis(
        "eu",
        "gavel",
        replicas=replicas,
        image="redis:7.0",
        resources=RESOURCES,
        sentinel_resources={"limits": {"memory": "128Mi"}},
    )
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in objects}


def pod(obj: Obj) -> Obj:
    spec: Obj = obj["spec"]["template"]["spec"]
    return spec


def test_no_replicas_is_one_server_reached_directly() -> None:
    objs = render(0)
    assert set(objs) == {"StatefulSet/gavel-redis", "Service/gavel-redis"}
    nodes = objs["StatefulSet/gavel-redis"]
    assert nodes["spec"]["replicas"] == 1
    (redis,) = pod(nodes)["containers"]
    # Nothing to wait for: it must keep writing without replicas.
    assert redis["args"] == list(REDIS_PERSISTENCE_ARGS)
    assert rr.redis_url("gavel", 0) == "redis://gavel-redis.gavel.svc:6379/0"


def test_replicas_bring_data_nodes_sentinels_budgets_and_scripts() -> None:
    objs = render(2)
    assert set(objs) == {
        "ConfigMap/gavel-redis-scripts",
        "StatefulSet/gavel-redis",
        "Service/gavel-redis",
        "PodDisruptionBudget/gavel-redis",
        "StatefulSet/gavel-redis-sentinel",
        "Service/gavel-redis-sentinel",
        "PodDisruptionBudget/gavel-redis-sentinel",
    }
    assert objs["StatefulSet/gavel-redis"]["spec"]["replicas"] == 3
    assert objs["StatefulSet/gavel-redis-sentinel"]["spec"]["replicas"] == 3
    for name in ("gavel-redis", "gavel-redis-sentinel"):
        assert objs[f"PodDisruptionBudget/{name}"]["spec"]["maxUnavailable"] == 1
        service = objs[f"Service/{name}"]["spec"]
        assert (service["clusterIP"], service["publishNotReadyAddresses"]) == ("None", True)
        assert objs[f"StatefulSet/{name}"]["spec"]["serviceName"] == name


def test_only_mutable_statefulset_fields_differ_from_the_single_server() -> None:
    """Everything but replicas and the pod template is immutable: a region's one server (and the
    StatefulSet older operators made) must gain replicas by an apply, and go back to one."""
    single, replicated = (render(n)["StatefulSet/gavel-redis"]["spec"] for n in (0, 2))
    mutable = {"replicas", "template"}
    assert {k: v for k, v in single.items() if k not in mutable} == {
        k: v for k, v in replicated.items() if k not in mutable
    }


def test_data_nodes_persist_as_everywhere_and_refuse_writes_when_isolated() -> None:
    (redis,) = pod(render(1)["StatefulSet/gavel-redis"])["containers"]
    assert redis["args"] == [
        *REDIS_PERSISTENCE_ARGS,
        "--min-replicas-to-write",
        "1",
        "--min-replicas-max-lag",
        "2",
        "--repl-diskless-sync-delay",
        "0",
    ]
    assert redis["command"] == ["sh", "/scripts/redis-node.sh"]
    assert redis["resources"] == RESOURCES


def test_an_isolated_primary_stops_writing_before_a_replica_can_be_promoted() -> None:
    # Redis counts a replica good while its last acknowledgement is at most the lag (whole
    # seconds) old, and recounts once a second: writes stop up to lag + 2 s after the cut
    # (measured 4.0-4.9 s with a lag of 3), which must come before the Sentinels' down-after.
    assert (redis_replication.MIN_REPLICAS_MAX_LAG_S + 2) * 1000 < rr.DOWN_AFTER_MS
    assert rr.QUORUM == rr.SENTINELS // 2 + 1  # a majority


@pytest.mark.parametrize("component", ["redis", "redis-sentinel"])
def test_pods_spread_over_nodes_and_zones(component: str) -> None:
    spec = pod(render(2)[f"StatefulSet/gavel-{component}"])
    (anti,) = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti["topologyKey"] == "kubernetes.io/hostname"
    assert anti["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] == component
    (spread,) = spec["topologySpreadConstraints"]
    assert (spread["topologyKey"], spread["whenUnsatisfiable"]) == (
        "topology.kubernetes.io/zone",
        "ScheduleAnyway",
    )
    (container,) = spec["containers"]
    assert {"startupProbe", "readinessProbe", "livenessProbe"} <= set(container)


def test_the_url_names_every_rendered_sentinel_and_is_a_valid_region_url() -> None:
    url = rr.redis_url("gavel", 2)
    assert re.match(SENTINEL_URL, url)
    sentinels = render(2)["StatefulSet/gavel-redis-sentinel"]
    name, service = sentinels["metadata"]["name"], sentinels["spec"]["serviceName"]
    pods = [f"{name}-{i}.{service}.gavel.svc:26379" for i in range(sentinels["spec"]["replicas"])]
    assert url == f"redis+sentinel://{','.join(pods)}/{rr.MASTER}/0"
    (container,) = pod(render(2)["StatefulSet/gavel-redis"])["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["GAVEL_SENTINELS"] == " ".join(pods)


@pytest.mark.parametrize(
    ("script", "statefulset"),
    [("redis-node.sh", "gavel-redis"), ("redis-sentinel.sh", "gavel-redis-sentinel")],
)
def test_each_script_is_shipped_parses_and_finds_every_variable_it_reads(
    script: str, statefulset: str
) -> None:
    objs = render(2)
    shipped = objs["ConfigMap/gavel-redis-scripts"]["data"]
    assert shipped == {name: rr.script(name) for name in rr.SCRIPTS}
    sh = shutil.which("sh")
    assert sh is not None
    text = shipped[script] + shipped["redis-common.sh"]  # what it runs, with what it sources
    assert '. "$(dirname "$0")/redis-common.sh"' in shipped[script]
    subprocess.run([sh, "-n"], input=text, text=True, check=True, timeout=10)
    (container,) = pod(objs[f"StatefulSet/{statefulset}"])["containers"]
    assert container["command"] == ["sh", f"/scripts/{script}"]
    given = {e["name"] for e in container["env"]}
    read = set(re.findall(r"\$\{?((?:GAVEL|POD)_[A-Z_]+)", text))
    assert read
    assert read <= given, read - given


def test_each_workload_gets_only_its_own_redis_login_from_the_secret() -> None:
    (gw,) = rr.login_env("gateway", "logins")
    assert gw == {
        "name": "REDIS_AUTH_GATEWAY",
        "valueFrom": {"secretKeyRef": {"name": "logins", "key": "gateway"}},
    }
    assert rr.login_env("relay", "logins")[0]["name"] == "REDIS_AUTH_RELAY"
    assert rr.login_env("audit-writer", "logins") == []  # reaches no Redis
    assert rr.login_env("gateway", None) == []  # no Secret named: URLs as given


def test_redis_clients_trust_the_regions_redis_ca_for_rediss_urls() -> None:
    regions = [
        RegionView.of(d["metadata"]["name"], RegionSpec.model_validate(d["spec"]))
        for d in yaml.safe_load_all(EXAMPLES.read_text())
    ]
    pods = {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]
        for o in render_region(regions[0], regions)
        if o["kind"] == "Deployment"
    }
    clients = {"gavel-gateway", "gavel-fanout", "gavel-relay"}
    for name, pod in pods.items():
        for container in pod["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
            if name in clients:
                # Other regions' Redis is reached across the network, over TLS.
                assert env["REDIS_URL_EU"].startswith("rediss://"), name
                assert env[endpoints.REDIS_CA_FILE] == "/etc/gavel/redis-ca/ca.crt", name
                assert mounts["redis-ca"]["readOnly"], name
            else:
                assert endpoints.REDIS_CA_FILE not in env, name
                assert "redis-ca" not in mounts, name
        if name in clients:
            (volume,) = [v for v in pod["volumes"] if v["name"] == "redis-ca"]
            assert volume["secret"]["secretName"] == "gavel-redis-ca"
