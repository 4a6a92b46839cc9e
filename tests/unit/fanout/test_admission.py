from __future__ import annotations

import pytest

from gavel.fanout.admission import AddressLimits, Admission, Refusal

CLIENT = "203.0.113.7"


def admission(**limits: object) -> Admission:
    return Admission(AddressLimits(**limits))


def test_an_address_gets_its_burst_then_its_sustained_rate() -> None:
    gate = admission(burst=3, per_second=2.0, max_open=100)
    assert [gate.admit(CLIENT, 0.0) for _ in range(4)] == [None, None, None, Refusal.HANDSHAKE_RATE]
    assert gate.admit(CLIENT, 0.4) is Refusal.HANDSHAKE_RATE  # 0.8 of a token back
    assert gate.admit(CLIENT, 0.5) is None  # one whole token after half a second


def test_open_sockets_are_capped_per_address_and_freed_on_close() -> None:
    gate = admission(burst=100, per_second=100.0, max_open=2)
    for _ in range(2):
        assert gate.admit(CLIENT, 0.0) is None
        gate.opened(CLIENT)
    assert gate.admit(CLIENT, 0.0) is Refusal.OPEN_SOCKETS
    gate.closed(CLIENT, 0.0)
    assert gate.admit(CLIENT, 0.0) is None


def test_addresses_do_not_share_limits() -> None:
    gate = admission(burst=1, per_second=1.0, max_open=10)
    assert gate.admit(CLIENT, 0.0) is None
    assert gate.admit(CLIENT, 0.0) is Refusal.HANDSHAKE_RATE
    assert gate.admit("198.51.100.1", 0.0) is None


def test_trusted_networks_are_not_limited_and_leave_no_state() -> None:
    gate = admission(burst=1, per_second=1.0, max_open=1)
    for _ in range(10):
        assert gate.admit("127.0.0.1", 0.0) is None
        gate.opened("127.0.0.1")
        assert gate.admit("::1", 0.0) is None
    assert gate.admit(None, 0.0) is None  # no peer address: a local transport
    assert gate.tracked == 0


def test_random_addresses_are_forgotten_once_idle() -> None:
    gate = admission(burst=4, per_second=2.0, max_open=10)
    for n in range(1_000):
        assert gate.admit(f"2001:db8::{n:x}", 0.0) is None
    assert gate.tracked == 1_000
    gate.sweep(0.25)  # half a token back: the bucket is not full yet
    assert gate.tracked == 1_000
    gate.sweep(0.5)
    assert gate.tracked == 0


def test_an_address_holding_a_socket_is_kept_until_it_closes() -> None:
    gate = admission(burst=4, per_second=2.0, max_open=10)
    assert gate.admit(CLIENT, 0.0) is None
    gate.opened(CLIENT)
    gate.sweep(60.0)
    assert gate.tracked == 1
    gate.closed(CLIENT, 60.0)
    assert gate.tracked == 0


@pytest.mark.parametrize(
    "limits",
    [{"burst": 0}, {"per_second": 0.0}, {"max_open": 0}, {"trusted": ("not-a-network",)}],
)
def test_limits_that_cannot_work_are_refused_at_start(limits: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - ipaddress and the limits say different things
        AddressLimits(**limits)
