"""Amounts for people: minor units (integers) shown in their currency's major units. Pure.

Money is an integer number of minor units everywhere in Gavel; only what a person reads or types
is in major units. Used by the drop page (:mod:`gavel.fanout.page`), which also hands the
number of minor digits to its script so the browser formats prices exactly as the server did.
"""

from __future__ import annotations

_ZERO_DIGITS = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
_THREE_DIGITS = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])
_FOUR_DIGITS = frozenset(["CLF", "UYW"])


def minor_digits(currency: str) -> int:
    """Decimal places of ``currency``'s minor unit (ISO 4217 exponent); 2 unless listed."""
    if currency in _ZERO_DIGITS:
        return 0
    if currency in _THREE_DIGITS:
        return 3
    if currency in _FOUR_DIGITS:
        return 4
    return 2


def plain(amount: int, currency: str) -> str:
    """``amount`` minor units as a plain decimal a person can type back: ``1010.00``."""
    digits = minor_digits(currency)
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 10**digits)
    return f"{sign}{major}.{minor:0{digits}d}" if digits else f"{sign}{major}"


def display(amount: int, currency: str) -> str:
    """``amount`` minor units for reading: ``EUR 1,010.00`` (grouped, code first, no locale)."""
    whole, _, fraction = plain(amount, currency).partition(".")
    grouped = f"{int(whole):,}"
    return f"{currency} {grouped}.{fraction}" if fraction else f"{currency} {grouped}"
