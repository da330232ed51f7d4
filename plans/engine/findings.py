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
    "value_invalid",
    "bank_card_invalid",
)
UNIT_CODES = ("participation_below_minimum", "rows_exceed_headcount")
WARNING_CODES = frozenset({"bank_card_invalid", "rows_exceed_headcount"})

# How pages and the annotated workbook name each code (CONTRACTS §2); the code itself stays in
# the JSON and in a column of its own. The engine speaks Chinese only, as its messages do.
CODE_LABELS: dict[str, str] = {
    "file_empty": "文件没有内容",
    "file_not_xlsx": "不是.xlsx工作簿",
    "file_corrupt": "文件损坏或无法读取",
    "file_encrypted": "文件设有密码",
    "file_too_large": "文件过大",
    "too_many_rows": "行数超过上限",
    "header_not_found": "找不到表头",
    "column_missing": "缺少必填列",
    "column_duplicate": "列重复",
    "required_missing": "必填项未填",
    "name_invalid": "姓名不正确",
    "id_format": "身份证号码格式错误",
    "id_checksum": "身份证校验位错误",
    "id_birthdate_invalid": "身份证中的出生日期无效",
    "gender_mismatch": "性别与身份证不符",
    "birthdate_mismatch": "出生日期与身份证不符",
    "age_below_min": "未到最低参保年龄",
    "age_above_max": "超过最高参保年龄",
    "phone_invalid": "手机号码不正确",
    "employment_type_invalid": "用工类型无法识别",
    "employment_type_ineligible": "用工类型不在保障范围",
    "medical_insurance_required": "须参加职工医保",
    "gender_ineligible": "性别不在保障范围",
    "occupation_ineligible": "职业类别不在保障范围",
    "shares_invalid": "份数不正确",
    "shares_out_of_range": "份数超出范围",
    "shares_not_uniform": "份数不统一",
    "duplicate_in_file": "名单内重复",
    "already_enrolled": "已参保，份数超限",
    "value_invalid": "填写内容无法识别",
    "bank_card_invalid": "银行卡号可能有误",
    "participation_below_minimum": "参保率不足",
    "rows_exceed_headcount": "名单人数多于在册人数",
}


def code_label(code: str) -> str:
    """The Chinese label of a finding code; an unknown code (from an older version) as is."""
    return CODE_LABELS.get(code, code)


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
