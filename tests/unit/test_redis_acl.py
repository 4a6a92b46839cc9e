"""The ACL rules of every Redis principal: what each line grants, read as Redis would."""

from __future__ import annotations

from gavel import redis_acl
from gavel.redis_acl import Role

PASSWORDS = {r: f"pw-{r.value}" for r in Role}


def _line(lines: list[str], user: str) -> str:
    (found,) = [line for line in lines if line.startswith(f"user {user} ")]
    return found


def test_every_role_has_a_user_and_the_superuser_is_the_passworded_default() -> None:
    lines = redis_acl.data_node_users(PASSWORDS, "su-pw")
    assert lines[0] == "user default on resetpass >su-pw ~* &* +@all"
    for role in Role:
        assert _line(lines, f"gavel-{role.value}").startswith(f"user gavel-{role.value} on >pw-")


def test_the_gateway_runs_scripts_but_may_not_load_them_or_write_rules() -> None:
    gw = redis_acl.rules(Role.GATEWAY)
    top, *selectors = gw.split("(")
    assert "+evalsha" in top
    assert "+script|load" not in gw
    assert "+eval " not in gw
    assert "+set " not in gw
    assert "+@" not in gw  # no command category: every command is named
    # Writes pair only with the decision's keys; rules and listing are read-only everywhere.
    for sel in selectors:
        if "+hset" in sel:
            assert "{*}:rules" not in sel
            assert "{*}:listing" not in sel
    assert "%R~{*}:rules" in gw


def test_the_relay_reads_streams_and_runs_no_script() -> None:
    relay = redis_acl.rules(Role.RELAY)
    assert "+xreadgroup" in relay
    assert "+xack" in relay
    assert "evalsha" not in relay
    assert "+hset" not in relay
    assert "~{*}:events" in relay
    assert "%R~gavel:drops" in relay


def test_only_the_operator_loads_scripts_and_nobody_flushes() -> None:
    for role in Role:
        assert ("+script|load" in redis_acl.rules(role)) == (role is Role.OPERATOR)
        assert "+flushall" not in redis_acl.rules(role)
    assert "-@dangerous" in redis_acl.rules(Role.OPERATOR)


def test_sentinels_give_workloads_discovery_only() -> None:
    lines = redis_acl.sentinel_users(PASSWORDS, "su-pw")
    for role in redis_acl.WORKLOAD_ROLES:
        line = _line(lines, redis_acl.username(role))
        assert "+sentinel|get-master-addr-by-name" in line
        assert "+sentinel|failover" not in line
        assert "+@all" not in line
    assert "+@all" in _line(lines, "gavel-sentinel")
