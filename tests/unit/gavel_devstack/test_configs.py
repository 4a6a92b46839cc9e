from __future__ import annotations

import json
from pathlib import Path

import yaml

from gavel_devstack import configs, kafka_security


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and "=" in line)


def test_kafka_is_one_kraft_node_on_loopback_with_rf1_internal_topics() -> None:
    props = _props(configs.kafka_server_properties(21011, 21012, Path("/data")))
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:21012"
    assert props["advertised.listeners"] == "CLIENT://127.0.0.1:21011"
    assert props["auto.create.topics.enable"] == "false"
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
    ):
        assert props[key] == "1", key


def test_kafka_pods_get_a_second_loopback_listener_advertised_at_the_nodes_host_address() -> None:
    props = _props(
        configs.kafka_server_properties(
            21011,
            21012,
            Path("/data"),
            ("10.200.3.253", 21006),
            kafka_security.broker_properties("pw", ["CLIENT", "PODS"]),
        )
    )
    assert props["listeners"].split(",") == [
        "CLIENT://127.0.0.1:21011",
        "CONTROLLER://127.0.0.1:21012",
        "PODS://127.0.0.1:21006",
    ]
    # Host clients keep 127.0.0.1; a pod is told the address the host forwards to loopback.
    assert props["advertised.listeners"] == ("CLIENT://127.0.0.1:21011,PODS://10.200.3.253:21006")
    assert "PODS:SASL_PLAINTEXT" in props["listener.security.protocol.map"].split(",")
    assert props["inter.broker.listener.name"] == "CLIENT"


def test_an_authenticated_kafka_refuses_what_no_acl_allows() -> None:
    props = _props(
        configs.kafka_server_properties(
            21011, 21012, Path("/data"), None, kafka_security.broker_properties("pw", ["CLIENT"])
        )
    )
    assert set(props["listener.security.protocol.map"].split(",")) == {
        "CLIENT:SASL_PLAINTEXT",
        "CONTROLLER:SASL_PLAINTEXT",
    }
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:gavel-admin"
    assert props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert props["sasl.mechanism.controller.protocol"] == "PLAIN"
    assert "listener.name.client.scram-sha-512.sasl.jaas.config" in props


def test_kafka_cluster_id_is_22_url_safe_chars_not_starting_with_dash() -> None:
    for _ in range(200):
        cid = configs.kafka_cluster_id()
        assert len(cid) == 22
        assert not cid.startswith("-")
        assert set(cid) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_cassandra_yaml_uses_the_given_ports_and_folders() -> None:
    conf = yaml.safe_load(configs.cassandra_yaml(21000, 21001, Path("/run/cassandra")))
    assert conf["native_transport_port"] == 21000
    assert conf["storage_port"] == 21001
    assert conf["seed_provider"][0]["parameters"][0]["seeds"] == "127.0.0.1:21001"
    assert conf["data_file_directories"] == ["/run/cassandra/data"]
    assert conf["endpoint_snitch"] == "SimpleSnitch"


def test_cassandra_yaml_turns_logins_and_rights_on() -> None:
    conf = yaml.safe_load(configs.cassandra_yaml(21000, 21001, Path("/run/cassandra")))
    assert conf["authenticator"] == "PasswordAuthenticator"
    assert conf["authorizer"] == "CassandraAuthorizer"
    assert conf["role_manager"] == "CassandraRoleManager"


def test_kubeconfig_points_at_the_local_api_server_with_the_admin_token() -> None:
    conf = json.loads(configs.kubeconfig("hub", 21005, "s3cret", Path("/c/apiserver.crt")))
    assert conf["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:21005"
    assert conf["users"][0]["user"]["token"] == "s3cret"
    assert conf["clusters"][0]["cluster"]["certificate-authority"] == "/c/apiserver.crt"
    assert conf["current-context"] == "hub"


def test_token_file_puts_the_admin_in_system_masters() -> None:
    line = configs.token_auth_csv("tok")
    assert line.strip() == f'tok,{configs.ADMIN_USER},{configs.ADMIN_USER},"system:masters"'


def test_kwok_stages_cover_a_node_and_a_pod_lifecycle() -> None:
    stages = list(yaml.safe_load_all(configs.kwok_stages()))
    assert [(s["metadata"]["name"], s["spec"]["resourceRef"]["kind"]) for s in stages] == [
        ("gavel-node-ready", "Node"),
        ("gavel-pod-running", "Pod"),
        ("gavel-pod-delete", "Pod"),
    ]
    running = stages[1]["spec"]["next"]["statusTemplate"]
    # Only scheduled pods run, and every container reports ready (Deployments count on it).
    assert {"key": ".spec.nodeName", "operator": "Exists"} in stages[1]["spec"]["selector"][
        "matchExpressions"
    ]
    assert "ready: true" in running
    assert stages[2]["spec"]["next"] == {"delete": True}


def test_kafka_idle_timers_are_in_the_broker_config() -> None:
    props = _props(configs.kafka_server_properties(21011, 21012, Path("/data")))
    assert props["metadata.max.idle.interval.ms"] == "5000"
    assert configs.KAFKA_IDLE_TIMERS.items() <= props.items()
