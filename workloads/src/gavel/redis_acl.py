"""Who may do what in a region's Redis: the ACL users of every workload, in one place. Pure.

Read by the local stack (``gavel_devstack.components`` writes these rules into every data
node's and Sentinel's configuration), by :mod:`gavel.endpoints` (the user name of a role) and
by docs/security.md ("Data stores"), which explains each rule. Key patterns come from
:mod:`gavel.keys`.

What Redis 7.0 enforces, and why the rules look like this: a script run by ``EVALSHA`` runs
its ``redis.call()`` commands with the *caller's* ACL user, commands and keys both (checked
in the script, command by command). So the gateway needs the hash, stream and publish
commands ``place_bid.lua`` uses, on the drop keys that script writes, besides ``EVALSHA``:
it can run ``HSET`` on a drop's state directly. What it does not get is everything else:
``SET``, ``DEL``, ``FLUSHALL``, ``CONFIG``, ``SCRIPT LOAD``, ``EVAL`` of any text, writes to a
drop's rules or listing, or any key outside the drop layout.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from gavel import keys


class Role(StrEnum):
    """A principal of a region's Redis. The value is part of its user name and env variable."""

    GATEWAY = "gateway"
    RELAY = "relay"
    FANOUT = "fanout"
    OPERATOR = "operator"
    """The operator and the merch CLI (``gavel drops open/close/...``): opens and cleans drops,
    loads the scripts into every node."""
    REPLICATION = "replication"
    """A replica logging in to its primary (``masteruser``)."""
    SENTINEL = "sentinel"
    """A Sentinel on the data nodes (``sentinel auth-user``) and on its fellow Sentinels."""


WORKLOAD_ROLES: tuple[Role, ...] = (Role.GATEWAY, Role.RELAY, Role.FANOUT, Role.OPERATOR)
"""The roles a Gavel process logs in as (the others are Redis' own)."""


def username(role: Role) -> str:
    return f"gavel-{role.value}"


_ANY_DROP = "{*}"
"""Glob of a drop's hash tag (``{`` and ``}`` are literal in an ACL pattern)."""


def _drop(key: str) -> str:
    """The ACL glob of one kind of drop key, e.g. ``{*}:state``."""
    return key.replace("{x}", _ANY_DROP)


_K = keys.for_drop("x")
_CONNECTION = (
    "+ping +hello +auth +select +client|setname +client|getname +client|id +info +time +role"
    " +wait +script|exists"
)
"""What every client sends while it connects and checks the node: redis-py's handshake, the
gateway's ``INFO replication`` and ``WAIT`` (decision 39), ``SCRIPT EXISTS`` (start-up check
that the loader ran). None of them reads or writes data."""

_RULES: Mapping[Role, str] = {
    # EVALSHA declares every key it is given as read-write, so the top level lets it name any
    # drop key; each redis.call() inside the script is then checked against the selectors
    # (Redis 7 ORs the top level and each selector, per command with all its keys): hash and
    # stream writes on the decision's keys, reads of rules and listing, PUBLISH on the live
    # channel. No selector pairs a write command with the rules or listing, so neither a direct
    # command nor any loaded script run by the gateway can change them.
    Role.GATEWAY: " ".join(
        [
            "resetkeys resetchannels -@all",
            _CONNECTION,
            f"+evalsha +evalsha_ro +subscribe +unsubscribe ~{_ANY_DROP}:* &{_drop(_K.live)}",
            "(+hget +hmget +hset +hincrby +pexpire +xadd"
            f" ~{_drop(_K.state)} ~{_drop(_K.bids)} ~{_drop(_K.events)}"
            f" ~{_drop(_K.rate_bucket('*'))})",
            f"(+hget +hmget +hgetall %R~{_drop(_K.rules)} %R~{_drop(_K.listing)}"
            f" %R~{_drop(_K.state)})",
            f"(+publish &{_drop(_K.live)})",
            f"(+incr ~{keys.WAIT_FENCE})",
        ]
    ),
    # Read and trim the outbox streams with its consumer group, and nothing else.
    Role.RELAY: " ".join(
        [
            "resetkeys resetchannels -@all",
            _CONNECTION,
            "+xreadgroup +xack +xautoclaim +xclaim +xgroup|create +xgroup|createconsumer",
            "+xtrim +xdel +xlen +xinfo|groups +xinfo|stream +xpending +smembers +sismember",
            f"~{_drop(_K.events)} %R~{keys.DROP_INDEX}",
        ]
    ),
    # The observers script (reads rules, writes the observer hash) and the page catalog's reads;
    # the same top level and selectors as the gateway's (see there).
    Role.FANOUT: " ".join(
        [
            "resetkeys resetchannels -@all",
            _CONNECTION,
            f"+evalsha +evalsha_ro +subscribe +unsubscribe ~{_ANY_DROP}:* &{_drop(_K.live)}",
            f"(+exists +hget +hgetall +hset +hdel ~{_drop(_K.observers)})",
            "(+exists +hget +hmget +hgetall +smembers +sismember"
            f" %R~{_drop(_K.rules)} %R~{_drop(_K.listing)} %R~{_drop(_K.state)}"
            f" %R~{keys.DROP_INDEX})",
        ]
    ),
    # Opens, closes and cleans drops; loads scripts. No FLUSH*, CONFIG, KEYS, DEBUG, SHUTDOWN.
    Role.OPERATOR: " ".join(
        [
            "resetkeys resetchannels -@all",
            "+@read +@write +@hash +@set +@stream +@keyspace +@scripting +@connection",
            "+@pubsub +@transaction -@dangerous",
            _CONNECTION,
            "+script|load +script|exists -script|flush -script|kill -eval -eval_ro",
            f"~{_ANY_DROP}:* ~gavel:* &*",
        ]
    ),
    Role.REPLICATION: "resetkeys resetchannels -@all +psync +replconf +ping",
    # What Sentinel sends a data node (Redis' Sentinel documentation lists these).
    Role.SENTINEL: (
        "resetkeys resetchannels -@all +multi +exec +slaveof +replicaof +ping +info"
        " +config|rewrite +role +publish +subscribe +client|setname +client|kill +script|kill"
        " &__sentinel__:hello"
    ),
}

_SENTINEL_CLIENT = (
    "resetkeys resetchannels -@all +ping +hello +auth +client|setname +client|getname"
    " +sentinel|get-master-addr-by-name +sentinel|masters +sentinel|master +sentinel|sentinels"
    " +sentinel|replicas +sentinel|slaves"
)
"""What a workload may ask a Sentinel: where the primary and the replicas are."""

SUPERUSER = "default"
"""The all-powerful user: the local stack's probes, the tests' set-up and chaos; a cluster's
administrators in production (never rendered into a workload). It is Redis' ``default`` user
with a password, not a user of our own with ``default`` turned off, because Redis 7.0 replays
an AOF's ``MULTI``/``EXEC`` blocks (every script's effects) with the default user's rights:
with ``default`` off, a restarted node silently dropped every write a script had made
(measured on 7.0.15: the node came back without the bid script's ``XADD`` and ``HSET``s,
``ACL LOG`` showing each refused with ``context multi``). A client without credentials is
still refused everything (``NOAUTH``)."""


def _superuser_line(password: str) -> str:
    return f"user {SUPERUSER} on resetpass >{password} ~* &* +@all"


@dataclass(frozen=True, slots=True)
class Credential:
    user: str
    password: str


def rules(role: Role) -> str:
    """The ACL rule string of ``role`` on a data node (after ``on >password``)."""
    return _RULES[role]


def _user_line(user: str, password: str, acl: str) -> str:
    return f"user {user} on >{password} {acl}"


def data_node_users(passwords: Mapping[Role, str], superuser_password: str) -> list[str]:
    """``user`` lines for a data node's configuration: every role, and the superuser's
    password (a client without credentials can do nothing)."""
    lines = [_superuser_line(superuser_password)]
    lines += [_user_line(username(r), passwords[r], rules(r)) for r in Role]
    return lines


def sentinel_users(passwords: Mapping[Role, str], superuser_password: str) -> list[str]:
    """``user`` lines for a Sentinel: workloads may only ask where the nodes are; Sentinels
    talk to each other as the Sentinel role; the superuser may fail over."""
    lines = [_superuser_line(superuser_password)]
    lines += [_user_line(username(r), passwords[r], _SENTINEL_CLIENT) for r in WORKLOAD_ROLES]
    lines.append(_user_line(username(Role.SENTINEL), passwords[Role.SENTINEL], "~* &* +@all"))
    return lines
