from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from gavel import endpoints
from gavel.resources.region import RegionSpec
from gavel_operator.rendering import Images, RegionView, drop_record, render_region
from gavel_operator.rendering_parts import labels
from tests.unit.resources.samples import DROP, drop_spec, region_spec

GOLDEN = Path(__file__).with_name("golden")
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "regions.yaml"


def example_regions() -> list[RegionView]:
    return [
        RegionView.of(doc["metadata"]["name"], RegionSpec.model_validate(doc["spec"]))
        for doc in yaml.safe_load_all(EXAMPLES.read_text())
    ]


def test_region_objects_match_the_golden_file() -> None:
    """To accept a deliberate change: GAVEL_UPDATE_GOLDEN=1 pytest this file, then review the
    diff of tests/unit/gavel_operator/golden/ like any other change."""
    regions = example_regions()
    rendered = yaml.safe_dump_all(render_region(regions[0], regions), sort_keys=False)
    golden = GOLDEN / "region-us.yaml"
    if os.environ.get("GAVEL_UPDATE_GOLDEN"):
        golden.write_text(rendered)
    assert rendered == golden.read_text()


def test_every_object_is_labelled_and_namespaced() -> None:
    regions = example_regions()
    for obj in render_region(regions[1], regions):
        meta = obj["metadata"]
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "gavel-operator"
        assert meta["labels"]["gavel.dev/region"] == "eu"
        if obj["kind"] != "Namespace":
            assert meta["namespace"] == "gavel"


def test_mirrormaker_pulls_from_every_other_region() -> None:
    regions = example_regions()
    config = next(
        o
        for o in render_region(regions[2], regions)
        if o["metadata"]["name"] == "gavel-mirrormaker" and o["kind"] == "ConfigMap"
    )
    props = config["data"]["mm2.properties"]
    for source in ("us", "eu", "ap", "sa"):
        assert f"{source}->in.enabled = true" in props
    assert "in->" not in props


def test_a_lone_region_runs_no_mirrormaker() -> None:
    lone = example_regions()[:1]
    kinds = {(o["kind"], o["metadata"]["name"]) for o in render_region(lone[0], lone)}
    assert ("Deployment", "gavel-mirrormaker") not in kinds


def test_baseline_replicas_and_hpa_minimums_come_from_the_region() -> None:
    regions = example_regions()
    objs = render_region(regions[0], regions)
    gateway = next(
        o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "gavel-gateway"
    )
    hpa = next(
        o
        for o in objs
        if o["kind"] == "HorizontalPodAutoscaler" and o["metadata"]["name"] == "gavel-gateway"
    )
    # The HPA owns the gateway's replicas: the Deployment never states a count.
    assert "replicas" not in gateway["spec"]
    assert hpa["spec"]["minReplicas"] == 2
    assert gateway["spec"]["selector"]["matchLabels"] == labels("us", "gateway")
    relay = next(o for o in objs if o["metadata"]["name"] == "gavel-relay")
    assert (relay["spec"]["replicas"], relay["spec"]["strategy"]["type"]) == (1, "Recreate")


def test_raised_minimums_reach_the_hpas() -> None:
    regions = example_regions()
    raised = replace(regions[0], gateway_min=7, fanout_min=9)
    hpas = {
        o["metadata"]["name"]: o["spec"]["minReplicas"]
        for o in render_region(raised, regions)
        if o["kind"] == "HorizontalPodAutoscaler"
    }
    assert hpas == {"gavel-gateway": 7, "gavel-fanout": 9}


def test_workloads_reach_their_own_redis_in_cluster_and_others_by_their_url() -> None:
    regions = example_regions()
    gateway = next(
        o for o in render_region(regions[1], regions) if o["metadata"]["name"] == "gavel-gateway"
    )
    env = {
        e["name"]: e.get("value")
        for e in gateway["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    # Its own Redis has replicas (the default): the URL names its three Sentinels.
    sentinels = ",".join(
        f"gavel-redis-sentinel-{i}.gavel-redis-sentinel.gavel.svc:26379" for i in range(3)
    )
    assert env["REDIS_URL_EU"] == f"redis+sentinel://{sentinels}/gavel/0"
    assert env["REDIS_URL_US"] == "rediss://redis.gavel-us.example:6379/0"
    single = replace(regions[1], redis_replicas=0)
    gateway = next(
        o for o in render_region(single, regions) if o["metadata"]["name"] == "gavel-gateway"
    )
    env = {
        e["name"]: e.get("value")
        for e in gateway["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["REDIS_URL_EU"] == "redis://gavel-redis.gavel.svc:6379/0"


def test_a_drop_record_carries_its_spec_and_labels() -> None:
    region = example_regions()[0]
    cm = drop_record("daytona", "merch", drop_spec(startsAt="2030-01-01T00:00:00+00:00"), region)
    assert cm["metadata"]["name"] == "gavel-drop-daytona"
    assert cm["metadata"]["namespace"] == region.namespace
    assert cm["metadata"]["labels"]["gavel.dev/drop"] == "daytona"
    assert cm["metadata"]["annotations"]["gavel.dev/source"] == "merch/daytona"
    # As given (no defaults filled in), the time as the API server writes it.
    assert json.loads(cm["data"]["spec.json"]) == DROP | {"startsAt": "2030-01-01T00:00:00Z"}


def test_resources_default_per_component_and_the_region_overrides_key_by_key() -> None:
    spec = yaml.safe_load(EXAMPLES.read_text().split("---")[0])["spec"]
    spec["resources"] = {"gateway": {"limits": {"cpu": "4"}}}
    us = RegionView.of("us", RegionSpec.model_validate(spec))
    containers = {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]["containers"][0]["resources"]
        for o in render_region(us, [us])
        if o["kind"] in ("Deployment", "StatefulSet")
    }
    assert containers["gavel-gateway"] == {
        "requests": {"cpu": "500m", "memory": "256Mi"},
        "limits": {"cpu": "4", "memory": "512Mi"},
    }
    assert containers["gavel-redis"]["requests"]["memory"] == "1Gi"
    assert containers["gavel-redis-sentinel"]["limits"]["memory"] == "128Mi"
    assert set(containers) == {
        "gavel-redis",
        "gavel-redis-sentinel",
        "gavel-gateway",
        "gavel-fanout",
        "gavel-relay",
        "gavel-audit-writer",
    }


def test_every_component_of_the_schema_has_default_resources() -> None:
    from gavel.resources.region import COMPONENTS
    from gavel_operator.rendering import DEFAULT_RESOURCES

    assert set(DEFAULT_RESOURCES) == set(COMPONENTS)


def _deployments(region: int = 0) -> dict[str, Any]:
    regions = example_regions()
    return {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]
        for o in render_region(regions[region], regions)
        if o["kind"] == "Deployment"
    }


def test_drop_pages_bid_at_every_regions_gateway_from_every_regions_fanout() -> None:
    deployments = _deployments()
    gateway_args = deployments["gavel-gateway"]["containers"][0]["args"]
    fanout_args = deployments["gavel-fanout"]["containers"][0]["args"]
    origins = [gateway_args[i + 1] for i, a in enumerate(gateway_args) if a == "--allow-origin"]
    gateways = [fanout_args[i + 1] for i, a in enumerate(fanout_args) if a == "--gateway-url"]
    names = [r.name for r in example_regions()]
    # examples/regions.yaml: fan-outs at wss://live.<r>..., gateways at https://bid.<r>...
    assert origins == [f"https://live.{n}.gavel.example" for n in names]
    assert gateways == [f"{n}=https://bid.{n}.gavel.example" for n in names]
    assert "--demo-login-url" not in fanout_args  # the demo login never reaches a cluster


def test_each_gateway_pod_ships_its_own_disk_outbox() -> None:
    pod = _deployments()["gavel-gateway"]
    gateway, shipper = pod["containers"]
    assert gateway["args"][-2:] == ["--outbox-dir", "/var/lib/gavel/outbox"]
    assert shipper["args"][:1] + shipper["args"][-3:] == [
        "relay",
        "--no-streams",
        "--outbox-dir",
        "/var/lib/gavel/outbox",
    ]
    outbox = {"name": "outbox", "mountPath": "/var/lib/gavel/outbox"}
    # The gateway never talks to Kafka; the Redis CA is for rediss:// (test_rendering_redis).
    assert [m for m in gateway["volumeMounts"] if m["name"] != "redis-ca"] == [outbox]
    assert shipper["volumeMounts"][0] == outbox
    assert pod["volumes"][0] == {"name": "outbox", "emptyDir": {}}
    assert "readinessProbe" not in shipper  # never takes the gateway out of its Service


def test_the_region_has_one_stream_relay_without_an_outbox() -> None:
    (relay,) = _deployments()["gavel-relay"]["containers"]
    assert relay["args"][-1] == "--no-outbox"


def test_audit_writers_reach_the_regions_cassandra() -> None:
    (writer,) = _deployments(1)["gavel-audit-writer"]["containers"]
    env = {e["name"]: e.get("value") for e in writer["env"]}
    assert env["CASSANDRA_CONTACT"] == "cassandra.gavel-eu.example:9042"
    assert env["CASSANDRA_DC"] == "eu"
    assert env["GAVEL_AUDIT_REPLICATION"] == "us=3,eu=3,in=3,ap=3,sa=3"


def _parse_with_the_cli(args: list[str]) -> None:
    """Parse ``gavel <args>`` as the container would, without running it."""
    import typer

    from gavel.cli import app

    group = typer.main.get_command(app)
    parent = group.make_context("gavel", list(args), resilient_parsing=True)
    name, command, rest = group.resolve_command(parent, list(args))  # type: ignore[attr-defined]
    command.make_context(str(name), list(rest), parent=parent)


def test_every_rendered_gavel_command_parses_with_the_real_cli() -> None:
    """A renamed or misspelt flag fails here, not in a crash-looping pod."""
    for spec in _deployments().values():
        for container in spec["containers"]:
            if container["image"].startswith("ghcr.io/gavel-dev/gavel"):
                _parse_with_the_cli(container["args"])
    with pytest.raises(Exception, match="no-such-flag"):
        _parse_with_the_cli(["relay", "--region", "us", "--port", "1", "--no-such-flag"])


def test_every_rendered_workload_finds_its_endpoints_in_its_env() -> None:
    """The operator writes the variables under the names gavel.endpoints reads."""
    readers = {
        "gateway": lambda region, env: (
            endpoints.redis_url(region, env),
            endpoints.jwks(env),
            endpoints.token_issuer(env),
        ),
        "relay": lambda region, env: (
            endpoints.redis_url(region, env),
            endpoints.kafka_bootstrap(region, env),
        ),
        "fanout": lambda region, env: (
            endpoints.regions(env),
            endpoints.kafka_bootstrap(region, env),
        ),
        "audit-writer": lambda region, env: (
            endpoints.kafka_bootstrap(region, env),
            endpoints.cassandra_contact(env),
            endpoints.cassandra_dc(env),
            env[endpoints.AUDIT_REPLICATION],
        ),
    }
    seen = set()
    for spec in _deployments().values():
        for container in spec["containers"]:
            command, region = (container.get("args") or ["", "", ""])[0:3:2]
            if command in readers:
                env = {e["name"]: e.get("value") or "from a Secret" for e in container["env"]}
                assert all(readers[command](region, env))
                assert set(endpoints.redis_urls(env)) == {r.name for r in example_regions()}
                seen.add(command)
    assert seen == set(readers)


def test_every_gavel_container_runs_as_non_root_on_a_read_only_root_and_may_start_slowly() -> None:
    regions = example_regions()
    containers = [
        c
        for obj in render_region(regions[0], regions)
        if obj["kind"] == "Deployment"
        for c in obj["spec"]["template"]["spec"]["containers"]
        if c["image"] == Images().gavel
    ]
    assert {c["name"] for c in containers} == {
        "gateway",
        "outbox-shipper",
        "fanout",
        "relay",
        "audit-writer",
    }
    for c in containers:
        assert c["securityContext"]["runAsNonRoot"] is True
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        startup = c["startupProbe"]
        # The liveness probe waits for the start: a slow import is not a dead process.
        assert startup["httpGet"] == c["livenessProbe"]["httpGet"]
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 60


def test_gateways_get_only_public_keys_from_a_url_or_a_mounted_config_map() -> None:
    spec = region_spec(
        bidderTokens={
            "issuer": "https://idp.example/",
            "jwksConfigMapRef": {"name": "bidder-jwks"},
            "refreshSeconds": 60,
        }
    )
    us = RegionView.of("us", spec)
    pod = next(
        o["spec"]["template"]["spec"]
        for o in render_region(us, [us])
        if o["metadata"]["name"] == "gavel-gateway" and o["kind"] == "Deployment"
    )
    gateway = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in gateway["env"]}
    assert env[endpoints.JWKS] == "/etc/gavel/jwks/jwks.json"
    assert env[endpoints.TOKEN_ISSUER] == "https://idp.example/"
    assert gateway["args"][gateway["args"].index("--jwks-refresh-s") + 1] == "60"
    assert {"name": "jwks", "mountPath": "/etc/gavel/jwks", "readOnly": True} in gateway[
        "volumeMounts"
    ]
    # Mounted as a folder, never subPath: the kubelet then swaps the file when keys rotate.
    assert all("subPath" not in m for m in gateway["volumeMounts"])
    assert {
        "name": "jwks",
        "configMap": {"name": "bidder-jwks", "items": [{"key": "jwks.json", "path": "jwks.json"}]},
    } in pod["volumes"]
    # No container of any workload is given a secret to sign or verify tokens with.
    for obj in render_region(us, [us]):
        text = yaml.safe_dump(obj)
        assert "JWT_SECRET" not in text
        assert "gavel-bidder-tokens" not in text


def test_a_region_names_exactly_one_jwks_source() -> None:
    both = {"issuer": "i", "jwksUrl": "https://x/jwks", "jwksConfigMapRef": {"name": "k"}}
    for tokens in (both, {"issuer": "i"}):
        with pytest.raises(ValueError, match="exactly one of bidderTokens"):
            region_spec(bidderTokens=tokens)
