from __future__ import annotations

import pytest

from gavel import money


@pytest.mark.parametrize(
    ("currency", "digits"), [("EUR", 2), ("USD", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4)]
)
def test_minor_digits_follow_iso_4217(currency: str, digits: int) -> None:
    assert money.minor_digits(currency) == digits


@pytest.mark.parametrize(
    ("amount", "currency", "plain", "shown"),
    [
        (101_000, "EUR", "1010.00", "EUR 1,010.00"),
        (5, "EUR", "0.05", "EUR 0.05"),
        (0, "EUR", "0.00", "EUR 0.00"),
        (2_500_000_00, "USD", "2500000.00", "USD 2,500,000.00"),
        (150_000, "JPY", "150000", "JPY 150,000"),
        (1_234_567, "KWD", "1234.567", "KWD 1,234.567"),
        (10**15, "EUR", "10000000000000.00", "EUR 10,000,000,000,000.00"),
    ],
)
def test_amounts_in_minor_units_read_in_major_units(
    amount: int, currency: str, plain: str, shown: str
) -> None:
    assert money.plain(amount, currency) == plain
    assert money.display(amount, currency) == shown
