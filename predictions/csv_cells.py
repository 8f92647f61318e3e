"""Cells of the CSV files we write, made safe to open in a spreadsheet.

A text cell that starts with = + - @ (or a tab or carriage return) is read by Excel, Sheets
and LibreOffice as a formula: a note like `=HYPERLINK(...)` would run when its owner opens
their export. Such cells get a leading apostrophe, which spreadsheets show as plain text.
Numbers stay numbers, written as numbers or as the text of one ("-0.5", "+3").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in row]


def safe_column(values: Iterable[str]) -> list[str]:
    """A column of text (notes, values as sent), cheaply: most cells need nothing."""
    return [safe_cell(v) if v[:1] in FORMULA_STARTS else v for v in values]
