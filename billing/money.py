"""Money rules: integer minor units per ISO 4217 currency, and the one rounding rule.

Amounts are always integers in the currency's minor unit (cents for USD, yen for JPY).
Fractions of a minor unit arise only from proration and percentage discounts; they are
computed exactly (fractions.Fraction) and rounded once per invoice line, half away from zero.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from babel.numbers import format_currency
from django.conf import settings
from django.utils import translation

from streamsite.errors import ValidationFailed

# ISO 4217 minor-unit exponents of the currencies we price in (and a few neighbours).
CURRENCY_EXPONENTS: dict[str, int] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CAD": 2,
    "AUD": 2,
    "CHF": 2,
    "SEK": 2,
    "JPY": 0,
    "KRW": 0,
    "BHD": 3,
    "KWD": 3,
}
CURRENCIES = tuple(sorted(CURRENCY_EXPONENTS))
# A model field's choices: every currency above.
CURRENCY_CHOICES = [(code, code) for code in CURRENCIES]


def exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency.upper()]
    except KeyError:
        raise ValidationFailed(f"Unsupported currency {currency!r}.") from None


def round_half_away(value: Fraction) -> int:
    """Round an exact fraction of minor units to an integer, halves away from zero."""
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    whole, rest = divmod(magnitude.numerator, magnitude.denominator)
    if 2 * rest >= magnitude.denominator:
        whole += 1
    return sign * whole


def prorate(amount: int, numerator: int, denominator: int) -> int:
    """amount × numerator / denominator, rounded half away from zero (e.g. 10000 × 14/31 = 4516)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    return round_half_away(Fraction(amount) * Fraction(numerator, denominator))


def percent_of(amount: int, percent: Fraction | int) -> int:
    return round_half_away(Fraction(amount) * Fraction(percent) / 100)


def to_decimal_string(amount: int, currency: str) -> str:
    """1234 USD -> '12.34'; 1234 JPY -> '1234'; -505 EUR -> '-5.05'."""
    exp = exponent(currency)
    sign = "-" if amount < 0 else ""
    magnitude = abs(amount)
    if exp == 0:
        return f"{sign}{magnitude}"
    whole, frac = divmod(magnitude, 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d}"


def format_money(amount: int, currency: str, language: str | None = None) -> str:
    """Human display in `language` (default: the active one), by Babel's CLDR data: en
    '$12.34', '€45.16', '¥1,490'; es '45,16 €', '12,34 US$'; de '45,16 €', '1.490 ¥'.
    Every price a person reads goes through here (pages, emails, admin); machines get
    `to_decimal_string`."""
    locale = translation.to_locale(language or translation.get_language() or settings.LANGUAGE_CODE)
    value = Decimal(to_decimal_string(amount, currency))
    return format_currency(value, currency.upper(), locale=locale)


def from_decimal(value: Decimal, currency: str) -> int:
    """Decimal('5.05') USD -> 505; refuses more decimals than the currency has."""
    exp = exponent(currency)
    scaled = value * (10**exp)
    if scaled != scaled.to_integral_value():
        raise ValidationFailed(f"{currency} amounts have at most {exp} decimals.")
    return int(scaled)


def staff_refund_limit(currency: str) -> int:
    """STAFF_SUPPORT_REFUND_LIMIT (major units, any currency) in `currency`'s minor units: the
    most a refund by staff without billing.refund_over_limit may return (streamsite.roles)."""
    return int(Decimal(settings.STAFF_SUPPORT_REFUND_LIMIT) * 10 ** exponent(currency))
