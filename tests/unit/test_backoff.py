from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gavel.backoff import Backoff, Fixed


def test_doubles_from_the_initial_delay_up_to_the_cap() -> None:
    b = Backoff(initial_s=0.2, max_s=5.0, factor=2.0)
    assert [b.delay(n, rand=1.0) for n in range(1, 8)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]


def test_jitter_spreads_the_second_half() -> None:
    b = Backoff(initial_s=1.0, max_s=10.0)
    assert b.delay(1, rand=0.0) == 0.5
    assert b.delay(1, rand=0.5) == 0.75


@given(failures=st.integers(min_value=0, max_value=10**6), rand=st.floats(0, 1))
def test_never_more_than_the_cap_never_less_than_half_the_initial(
    failures: int, rand: float
) -> None:
    b = Backoff(initial_s=0.2, max_s=5.0)
    assert 0.1 <= b.delay(failures, rand) <= 5.0


@pytest.mark.parametrize(
    "kwargs", [{"initial_s": 0}, {"initial_s": 6, "max_s": 5}, {"factor": 0.5}]
)
def test_nonsense_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="invalid backoff"):
        Backoff(**kwargs)


def test_fixed_waits_the_same_whatever_the_failures_or_the_jitter() -> None:
    f = Fixed(1.0)
    assert {f.delay(n, rand=r) for n in (1, 2, 50) for r in (0.0, 0.5, 1.0)} == {1.0}
