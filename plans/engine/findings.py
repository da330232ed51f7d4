"""What the roster check reports: findings with the stable codes of the contract."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"

FILE_CODES = (
    "file_empty",
    "file_not_xlsx",
    "file_corrupt",
    "file_encrypted",
    "file_too_large",
    "too_many_rows",
    "header_not_found",
    "column_missing",
    "column_duplicate",
)
ROW_CODES = (
    "required_missing",
    "name_invalid",
    "id_format",
    "id_checksum",
    "id_birthdate_invalid",
    "gender_mismatch",
    "birthdate_mismatch",
    "age_below_min",
    "age_above_max",
    "phone_invalid",
    "employment_type_invalid",
    "employment_type_ineligible",
    "medical_insurance_required",
    "gender_ineligible",
    "occupation_ineligible",
    "shares_invalid",
    "shares_out_of_range",
    "shares_not_uniform",
    "duplicate_in_file",
    "already_enrolled",
    "bank_card_invalid",
)
UNIT_CODES = ("participation_below_minimum",)
WARNING_CODES = frozenset({"bank_card_invalid"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem. ``row`` is the workbook's own row number (None for file and unit level);
    ``column`` the header text as it appears in the file; ``col`` its 0-based index in the
    sheet, used to mark the cell in the annotated workbook (not part of the public JSON)."""

    code: str
    level: str
    row: int | None
    column: str | None
    message: str
    col: int | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "level": self.level,
            "message": self.message,
        }


class RosterFileError(Exception):
    """The file as a whole cannot be used; ``finding`` says why, in the contract's terms."""

    def __init__(self, code: str, message: str, *, column: str | None = None, col=None):
        self.finding = Finding(
            code=code, level=ERROR, row=None, column=column, message=message, col=col
        )
        super().__init__(message)
