"""What each workload may do in a region's Kafka: the ACLs, as data.

Pure. :func:`region_acls` lists every ALLOW binding one region's Kafka needs for Gavel's
principals (:mod:`gavel.kafka_auth`); anything not listed is refused, because brokers run
``StandardAuthorizer`` with ``allow.everyone.if.no.acl.found=false``. The admin user is a
super user and needs none. The local stack applies these bindings at start-up
(``gavel_devstack.kafka_security``); docs/security.md explains them.

The rights, per principal (each region's Kafka):

* relay: write ``gavel.price``, ``gavel.audit`` and ``gavel.audit.dlq`` (idempotent
  producer: ``IdempotentWrite`` on the cluster, which Kafka 3+ also grants with Write on a
  topic; listed for older brokers).
* fan-out: read ``gavel.price`` and every mirrored copy ``<source>.gavel.price``; no group (it
  assigns partitions itself).
* audit writer: read ``gavel.audit`` in its consumer groups (those named with the group's
  prefix), write ``gavel.audit.dlq``.
* MirrorMaker 2: as a source, read ``gavel.price`` (and its configs); as a target, create and
  write ``<source>.gavel.price``, its own internal topics ``mm2-*.<source>.internal`` and its
  Connect group ``<source>-mm2`` (named after the flows, one per other region).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gavel import kafka_auth, topics

# Kafka's wire codes (org.apache.kafka.common.resource / acl enums).
TOPIC, GROUP, CLUSTER = 2, 3, 4
READ, WRITE, CREATE, ALTER, DESCRIBE = 3, 4, 5, 7, 8
DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE = 10, 11, 12
LITERAL, PREFIXED = 3, 4
ALLOW = 3
CLUSTER_NAME = "kafka-cluster"


@dataclass(frozen=True, slots=True)
class AclBinding:
    """One ALLOW rule: ``principal`` may ``operation`` on the resource, from any host."""

    principal: str
    resource_type: int
    resource_name: str
    operation: int
    pattern_type: int = LITERAL


def _topic(role: str, name: str, *ops: int, pattern: int = LITERAL) -> list[AclBinding]:
    p = kafka_auth.principal(role)
    return [AclBinding(p, TOPIC, name, op, pattern) for op in ops]


def _group(role: str, name: str, pattern: int = LITERAL) -> list[AclBinding]:
    return [AclBinding(kafka_auth.principal(role), GROUP, name, READ, pattern)]


def mirror_internal_topics(source: str) -> tuple[str, ...]:
    """MirrorMaker 2's bookkeeping topics for the flow ``source`` -> this region, kept in the
    target (``offset-syncs.topic.location=target``)."""
    return tuple(
        f"mm2-{kind}.{source}.internal" for kind in ("configs", "offsets", "status", "offset-syncs")
    )


def mirror_group(source: str) -> str:
    """The Connect worker group MirrorMaker 2 runs the flow ``source`` -> target in."""
    return f"{source}-mm2"


def region_acls(region: str, regions: Sequence[str], audit_group: str) -> list[AclBinding]:
    """Every binding ``region``'s Kafka needs, for a deployment of ``regions``."""
    sources = [r for r in regions if r != region]
    acls = [
        *_topic(kafka_auth.RELAY, topics.PRICE, WRITE, DESCRIBE),
        *_topic(kafka_auth.RELAY, topics.AUDIT, WRITE, DESCRIBE),
        # Outbox entries that do not parse go to the dead letters, with their raw fields.
        *_topic(kafka_auth.RELAY, topics.AUDIT_DEAD_LETTER, WRITE, DESCRIBE),
        AclBinding(kafka_auth.principal(kafka_auth.RELAY), CLUSTER, CLUSTER_NAME, IDEMPOTENT_WRITE),
        *_topic(kafka_auth.AUDIT_WRITER, topics.AUDIT, READ, DESCRIBE),
        # Prefixed: a second fleet (blue/green) or a test may run as ``<group>-<suffix>``.
        *_group(kafka_auth.AUDIT_WRITER, audit_group, PREFIXED),
        *_topic(kafka_auth.AUDIT_WRITER, topics.AUDIT_DEAD_LETTER, WRITE, DESCRIBE),
        AclBinding(
            kafka_auth.principal(kafka_auth.AUDIT_WRITER), CLUSTER, CLUSTER_NAME, IDEMPOTENT_WRITE
        ),
        *_topic(kafka_auth.FANOUT, topics.PRICE, READ, DESCRIBE),
        # As a source for the other regions' MirrorMakers.
        *_topic(kafka_auth.MIRROR, topics.PRICE, READ, DESCRIBE, DESCRIBE_CONFIGS),
        AclBinding(
            kafka_auth.principal(kafka_auth.MIRROR), CLUSTER, CLUSTER_NAME, IDEMPOTENT_WRITE
        ),
    ]
    for source in sources:
        copy = topics.mirrored(topics.PRICE, source)
        acls += _topic(kafka_auth.FANOUT, copy, READ, DESCRIBE)
        target_ops = (CREATE, WRITE, READ, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS, ALTER)
        acls += _topic(kafka_auth.MIRROR, copy, *target_ops)
        for internal in mirror_internal_topics(source):
            acls += _topic(kafka_auth.MIRROR, internal, *target_ops)
        acls += _group(kafka_auth.MIRROR, mirror_group(source))
    return acls
