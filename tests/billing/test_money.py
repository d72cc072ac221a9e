"""Money rules: exponents per currency, the rounding rule, published proration examples."""

from datetime import UTC, datetime
from fractions import Fraction

import pytest
from django.utils import translation

from billing import money
from billing.services import add_interval, proration_for
from streamsite.errors import ValidationFailed


def test_exponents_come_from_the_currency_table():
    assert money.exponent("USD") == 2
    assert money.exponent("eur") == 2
    assert money.exponent("JPY") == 0
    assert money.exponent("BHD") == 3


def test_unknown_currency_is_a_validation_error():
    with pytest.raises(ValidationFailed, match="Unsupported currency 'XYZ'"):
        money.exponent("XYZ")


def test_formatting_uses_the_exponent():
    assert money.to_decimal_string(1549, "USD") == "15.49"
    assert money.to_decimal_string(1490, "JPY") == "1490"
    assert money.to_decimal_string(-505, "EUR") == "-5.05"
    assert money.to_decimal_string(1250, "BHD") == "1.250"
    assert money.format_money(4516, "EUR") == "€45.16"
    assert money.format_money(-500, "USD") == "-$5.00"
    assert money.format_money(1980, "JPY") == "¥1,980"
    assert money.format_money(123456, "USD") == "$1,234.56"


def test_prices_are_written_the_way_the_viewer_s_language_writes_them():
    nbsp = "\u00a0"
    assert money.format_money(4516, "EUR", "es") == f"45,16{nbsp}€"
    assert money.format_money(123456, "USD", "es") == f"1.234,56{nbsp}US$"
    assert money.format_money(123456, "EUR", "de") == f"1.234,56{nbsp}€"
    assert money.format_money(-505, "EUR", "de") == f"-5,05{nbsp}€"
    assert money.format_money(1980, "JPY", "de") == f"1.980{nbsp}¥"
    assert money.format_money(1250, "BHD", "de") == f"1,250{nbsp}BHD"
    with translation.override("de"):  # the active language, as on a page or in an email
        assert money.format_money(4516, "EUR") == f"45,16{nbsp}€"


def test_rounding_is_half_away_from_zero():
    assert money.round_half_away(Fraction(5, 2)) == 3
    assert money.round_half_away(Fraction(-5, 2)) == -3
    assert money.round_half_away(Fraction(249, 100)) == 2
    assert money.round_half_away(Fraction(-251, 100)) == -3
    assert money.prorate(1, 1, 2) == 1
    assert money.prorate(-1, 1, 2) == -1


def test_lago_example_14_of_31_days_of_100_eur_is_45_16():
    assert money.prorate(10000, 14, 31) == 4516


def test_upgrade_10_to_20_usd_halfway_through_a_month_charges_5_00():
    start = datetime(2026, 4, 1, tzinfo=UTC)
    end = add_interval(start, "month", 1)
    assert end == datetime(2026, 5, 1, tzinfo=UTC)
    halfway = datetime(2026, 4, 16, tzinfo=UTC)
    pr = proration_for(
        old_amount=1000,
        new_amount=2000,
        currency="USD",
        period_start=start,
        period_end=end,
        at=halfway,
    )
    assert (pr.credit, pr.debit, pr.total) == (-500, 1000, 500)


def test_lago_proration_as_an_upgrade_debit_line():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = datetime(2026, 2, 1, tzinfo=UTC)
    at = datetime(2026, 1, 18, tzinfo=UTC)  # 14 of 31 days left
    pr = proration_for(
        old_amount=0, new_amount=10000, currency="EUR", period_start=start, period_end=end, at=at
    )
    assert (pr.credit, pr.debit) == (0, 4516)


def test_percentages_round_to_the_minor_unit():
    assert money.percent_of(1549, 25) == 387  # 387.25
    assert money.percent_of(1490, 15) == 224  # 223.5 -> 224 yen


def test_monthly_periods_keep_the_anchor_day_and_clamp_to_month_end():
    jan31 = datetime(2026, 1, 31, 9, tzinfo=UTC)
    feb = add_interval(jan31, "month", 31)
    assert feb == datetime(2026, 2, 28, 9, tzinfo=UTC)
    assert add_interval(feb, "month", 31) == datetime(2026, 3, 31, 9, tzinfo=UTC)
    assert add_interval(jan31, "year", 31) == datetime(2027, 1, 31, 9, tzinfo=UTC)
