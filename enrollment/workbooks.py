"""The blank roster a clerk fills in for one plan (``roster_template``).

The annotated roster lives in ``enrollment.annotate``; ``annotate_roster`` is re-exported here
for callers that think of both as "the roster workbooks".
"""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from enrollment.annotate import (  # noqa: E402 - one set of sheet names and colours for both
    AUTHOR,
    HEADER_ROW,
    INSTRUCTIONS_SHEET,
    LAST_ROW,
    ROSTER_SHEET,
)
from mutualaid.exports import neutralise
from plans.engine.columns import COLUMNS, TEXT_KEYS, Column
from plans.engine.money import format_money
from plans.engine.rules import RETIRED, PlanRules

# --- the blank roster -------------------------------------------------------------------------

_WIDTHS = {
    "name": 12,
    "id_number": 24,
    "gender": 8,
    "birth_date": 14,
    "phone": 16,
    "employment_type": 20,
    "occupation": 14,
    "medical_insurance": 16,
    "shares": 8,
    "high_risk": 12,
    "bank_card": 26,
    "note": 24,
}
_THIN = Side(style="thin", color="FF999999")
_REQUIRED_FILL = PatternFill("solid", fgColor="FFFCE4D6")
_OPTIONAL_FILL = PatternFill("solid", fgColor="FFEDEDED")


def template_columns(rules: PlanRules) -> list[Column]:
    """The plan's columns in contract order: 职业类别 only when the plan limits occupations,
    份数 only when more than one share is possible, 高危行业 only when it costs extra."""
    skip = set()
    if not rules.eligibility.occupations:
        skip.add("occupation")
    if rules.shares.max <= 1:
        skip.add("shares")
    if rules.fees.high_risk_surcharge_per_share <= 0:
        skip.add("high_risk")
    return [column for column in COLUMNS if column.key not in skip]


def _required(column: Column, rules: PlanRules) -> bool:
    # A plan limited to some occupations cannot judge a row without one, so the template asks
    # for it even though the contract leaves the column optional in general.
    return column.required or (column.key == "occupation" and bool(rules.eligibility.occupations))


def _column_help(column: Column, rules: PlanRules) -> str:
    e = rules.eligibility
    parts = ["必填。" if _required(column, rules) else "选填。", column.help]
    if column.key == "employment_type":
        parts.append(f"本计划可参加：{'、'.join(e.employment_types)}。")
        if RETIRED not in e.employment_types:
            parts.append("退休人员不能参加，如实填写后检查会提示。")
    elif column.key == "occupation":
        parts.append(f"本计划仅限：{'、'.join(e.occupations)}。")
    elif column.key == "gender" and len(e.genders) == 1:
        parts.append("本计划仅限女职工参加。" if e.genders == ("F",) else "本计划仅限男职工参加。")
    elif column.key == "medical_insurance" and e.medical_insurance_required:
        parts.append("本计划要求参加职工基本医疗保险，未参加的不能参保。")
    elif column.key == "shares":
        parts.append(f"本计划每人{rules.shares.min}–{rules.shares.max}份。")
        if rules.shares.uniform_per_unit:
            parts.append("同一单位每人份数须相同。")
    elif column.key == "high_risk":
        surcharge = format_money(rules.fees.high_risk_surcharge_per_share)
        parts.append(f"填“是”的每份另加{surcharge}元。")
    return "".join(parts)


def _validation(column: Column, rules: PlanRules) -> DataValidation | None:
    # Employment types and occupations offer every contract value, not only the plan's: the
    # type is a fact about the worker, and a clerk must be able to record 退休 truthfully and
    # be told by the check why that person cannot join, rather than pick a false value.
    if column.values:
        listed = ",".join(column.values)
        return DataValidation(
            type="list",
            formula1=f'"{listed}"',
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=column.header,
            error=f"请从下拉列表中选择：{'、'.join(column.values)}",
        )
    if column.key == "shares":
        low, high = rules.shares.min, rules.shares.max
        return DataValidation(
            type="whole",
            operator="between",
            formula1=str(low),
            formula2=str(high),
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=column.header,
            error=f"份数应为{low}到{high}之间的整数",
        )
    return None


def roster_template(*, rules: PlanRules, plan_code: str, plan_name: str) -> bytes:
    """The .xlsx a clerk fills in: sheet 参保名单 (title row, header row, data below) and an
    instructions sheet 填表说明.

    Every text written to a cell goes through ``neutralise``: the plan's name and texts come
    from plan admins, and a name starting with ``=`` must not become a formula in every
    clerk's template."""
    columns = template_columns(rules)
    wb = Workbook()
    ws = wb.active
    ws.title = ROSTER_SHEET
    last = get_column_letter(len(columns))
    ws["A1"] = neutralise(f"{plan_name}参保名单")
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.merge_cells(f"A1:{last}1")
    ws.row_dimensions[1].height = 30
    ws.row_dimensions[HEADER_ROW].height = 22
    first_data = HEADER_ROW + 1
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        required = _required(column, rules)
        cell = ws.cell(row=HEADER_ROW, column=index, value=neutralise(column.header))
        cell.font = Font(bold=True, color="FFC00000" if required else "FF404040")
        cell.fill = _REQUIRED_FILL if required else _OPTIONAL_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        cell.border = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
        cell.comment = Comment(_column_help(column, rules), AUTHOR, width=260, height=110)
        dimension = ws.column_dimensions[letter]
        dimension.width = _WIDTHS[column.key]
        # A column style (not a style on each cell) makes every cell the clerk types into,
        # down to the last row, text from the start, and costs nothing in file size.
        if column.key in TEXT_KEYS:
            dimension.number_format = "@"
        elif column.key == "birth_date":
            dimension.number_format = "yyyy-mm-dd"
        validation = _validation(column, rules)
        if validation is not None:
            validation.add(f"{letter}{first_data}:{letter}{LAST_ROW}")
            ws.add_data_validation(validation)
    ws.freeze_panes = f"A{first_data}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"

    notes = wb.create_sheet(INSTRUCTIONS_SHEET)
    notes.column_dimensions["A"].width = 16
    notes.column_dimensions["B"].width = 90
    for label, text in instruction_rows(rules, plan_code=plan_code, plan_name=plan_name):
        notes.append([neutralise(label), neutralise(text)])
        row = notes.max_row
        notes.cell(row=row, column=1).font = Font(bold=True)
        notes.cell(row=row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
        notes.cell(row=row, column=1).alignment = Alignment(vertical="top")
    notes["A1"].font = Font(bold=True, size=14)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def instruction_rows(rules: PlanRules, *, plan_code: str, plan_name: str) -> list[tuple[str, str]]:
    """The 填表说明 sheet as (label, text) rows."""
    e, fees, shares = rules.eligibility, rules.fees, rules.shares
    rows = [(f"{plan_name}参保名单填表说明", ""), ("计划", f"{plan_name}（代码 {plan_code}）")]
    if rules.insured == "member_child":
        rows.append(
            (
                "保障对象",
                f"职工会员的子女，子女须为{e.child_age_min}–{e.child_age_max}周岁"
                f"（按保障开始日计算）；职工本人须为{e.age_min}–{e.age_max}周岁。",
            )
        )
    else:
        rows.append(("参保年龄", f"{e.age_min}–{e.age_max}周岁（按保障开始日计算）。"))
    retired = "" if RETIRED in e.employment_types else "退休人员不能参加。"
    rows.append(("用工类型", f"可参加：{'、'.join(e.employment_types)}。{retired}"))
    if e.genders == ("F",):
        rows.append(("性别", "仅限女职工。"))
    elif e.genders == ("M",):
        rows.append(("性别", "仅限男职工。"))
    if e.occupations:
        rows.append(("职业", f"仅限以下职业：{'、'.join(e.occupations)}。"))
    if e.medical_insurance_required:
        rows.append(("医保", "须参加职工基本医疗保险（“是否参加医保”填“是”）。"))
    fee = f"每份{format_money(fees.per_share)}元，保障期{rules.coverage_months}个月。"
    if fees.high_risk_surcharge_per_share > 0:
        surcharge = format_money(fees.high_risk_surcharge_per_share)
        fee += f"从事高危行业的每份另加{surcharge}元。"
    for subsidy in fees.subsidies:
        fee += f"{subsidy.name}每人补贴{format_money(subsidy.amount_per_member)}元。"
    rows.append(("会费", fee))
    if shares.max > 1:
        text = f"每人{shares.min}–{shares.max}份，不填按1份。"
        if shares.uniform_per_unit:
            text += "同一单位所有人的份数须相同。"
    else:
        text = "每人1份。"
    rows.append(("份数", text))
    rows.append(("", ""))
    rows.append(("各列填写方法", "表头为红字的列必须填写，其余可不填。"))
    for column in template_columns(rules):
        rows.append((column.header, _column_help(column, rules)))
    rows.append(("", ""))
    rows += [
        (
            "注意",
            f"“{ROSTER_SHEET}”工作表第{HEADER_ROW}行的表头必须保留，不要改动、删除或移动表头各列；"
            "每行填一人，不要合并单元格，也不要在名单中间加小计行。",
        ),
        (
            "",
            "身份证号、手机号、银行卡号三列已设为文本格式。从别的表格复制时，如果身份证号显示为"
            "1.10101E+17一类的数字，号码已经丢失，须重新录入。",
        ),
        (
            "检查结果",
            "上传后系统逐行检查。有问题时可下载批注版名单：有错误的单元格标红，需要注意的标黄，"
            "鼠标停在单元格上可看说明；第一个工作表“检查结果”列出全部问题。改正后重新上传即可。",
        ),
    ]
    return rows


from enrollment.annotate import annotate_roster  # noqa: E402

__all__ = ["annotate_roster", "instruction_rows", "roster_template", "template_columns"]
