"""The one way amounts and dates are written (mutualaid.formatting) and its template filters."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from mutualaid.formatting import day, moment, money, period, to_decimal


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (Decimal("13530"), "¥13,530.00"),
        (Decimal("13310.5"), "¥13,310.50"),
        ("500.00", "¥500.00"),
        (500, "¥500.00"),
        (Decimal("0"), "¥0.00"),
        (Decimal("0.005"), "¥0.01"),  # half up, as the engine rounds money
        (Decimal("2.675"), "¥2.68"),  # a float would have lost this cent (2.67499…)
        (Decimal("0.004"), "¥0.00"),
        (Decimal("999.995"), "¥1,000.00"),
        (Decimal("-100"), "-¥100.00"),
        (Decimal("-1234567.891"), "-¥1,234,567.89"),
        (Decimal("123456789012345.67"), "¥123,456,789,012,345.67"),
        (" 6400 ", "¥6,400.00"),
    ],
)
def test_an_amount_has_two_decimals_separators_and_the_sign_before_the_currency(value, written):
    assert money(value) == written


def test_an_amount_without_the_currency_sign_and_with_a_plus_for_an_adjustment():
    assert money(Decimal("13530"), symbol=False) == "13,530.00"
    assert money(Decimal("-100"), symbol=False) == "-100.00"
    assert money(Decimal("100"), symbol=False, signed=True) == "+100.00"
    assert money(Decimal("-100"), signed=True) == "-¥100.00"
    assert money(Decimal("0"), signed=True) == "¥0.00"


def test_a_missing_amount_is_written_as_nothing():
    assert money(None) == ""


@pytest.mark.parametrize("value", [1.1, True, "abc", "", Decimal("NaN"), Decimal("Infinity")])
def test_a_float_or_a_non_number_is_refused_not_rounded(value):
    with pytest.raises((TypeError, ValueError)):
        money(value)


def test_to_decimal_keeps_the_exact_cents():
    assert to_decimal("0.1") + to_decimal("0.2") == Decimal("0.30")
    assert isinstance(to_decimal(3), Decimal)


def test_a_short_date_is_the_same_in_both_languages():
    date = datetime.date(2026, 12, 4)
    for language in ("zh-hans", "en"):
        with translation.override(language):
            assert day(date) == "2026-12-04"
            assert period(date, datetime.date(2027, 1, 3)) == "2026-12-04 – 2027-01-03"


def test_a_long_date_reads_as_the_language_writes_it():
    date = datetime.date(2026, 12, 4)
    with translation.override("zh-hans"):
        assert day(date, long=True) == "2026年12月4日"
        assert period(date, datetime.date(2027, 1, 3), long=True) == "2026年12月4日至2027年1月3日"
    with translation.override("en"):
        assert day(date, long=True) == "4 December 2026"
        assert day(datetime.date(2027, 1, 31), long=True) == "31 January 2027"
        # A document that is always Chinese says so, whatever the request's language.
        assert day(date, long=True, language="zh-hans") == "2026年12月4日"


def test_a_moment_is_dated_in_the_portals_time_zone_not_in_utc():
    late = datetime.datetime(2026, 12, 4, 20, 30, tzinfo=datetime.UTC)
    with timezone.override(zoneinfo.ZoneInfo("Asia/Shanghai")):
        assert day(late) == "2026-12-05"
        assert moment(late) == "2026-12-05 04:30"
        assert moment(late, seconds=True) == "2026-12-05 04:30:00"


def test_a_missing_date_is_written_as_nothing_and_a_non_date_is_refused():
    assert day(None) == "" and moment(None) == "" and period(None, None) == " – "
    with pytest.raises(TypeError):
        day("2026-12-04")
    with pytest.raises(TypeError):
        moment(datetime.date(2026, 12, 4))


def render(text: str, **context) -> str:
    # No {% load %}: the filters are template builtins, usable in every app's templates.
    return Template(text).render(Context(context))


def test_the_filters_write_what_the_helper_writes():
    context = {
        "fee": Decimal("13530"),
        "when": datetime.date(2026, 12, 4),
        "at": datetime.datetime(2026, 12, 4, 6, 5, tzinfo=datetime.UTC),
    }
    with translation.override("en"), timezone.override(zoneinfo.ZoneInfo("Asia/Shanghai")):
        text = render(
            '{{ fee|money }}|{{ fee|money:"plain" }}|{{ when|day }}|{{ when|day:"long" }}'
            "|{{ at|moment }}",
            **context,
        )
    assert text == "¥13,530.00|13,530.00|2026-12-04|4 December 2026|2026-12-04 14:05"
    with translation.override("zh-hans"):
        assert render('{{ when|day:"long" }}', **context) == "2026年12月4日"


def test_a_filter_writes_nothing_for_a_value_it_cannot_read():
    assert render("[{{ x|money }}][{{ x|day }}][{{ x|moment }}]", x="n/a") == "[][][]"
    assert render("[{{ x|money }}]", x=None) == "[]"
