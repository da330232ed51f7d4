"""The blank roster template and the annotated roster (enrollment/workbooks.py)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Border, Font, PatternFill, Side

from enrollment.annotate import ERROR_RGB, MARK, SUMMARY_SHEET, WARNING_RGB, annotate_roster
from enrollment.annotate import workbook as annotate  # MAX_COMMENTS is read there
from enrollment.workbooks import roster_template
from plans.engine.findings import Finding
from plans.engine.rules import EMPLOYMENT_TYPES, OCCUPATIONS, parse_rules

PLANS = sorted((Path(__file__).resolve().parents[2] / "fixtures" / "plans").glob("*.json"))
SUMMARY = {
    "rows": 3,
    "valid_rows": 1,
    "fee_total": "110.00",
    "plan": "jilin-allowance-2020",
    "checked_at": "2024-03-01 09:30",
}


def load_plan(code: str) -> tuple[dict, object]:
    data = json.loads(next(p for p in PLANS if p.stem == code).read_text(encoding="utf-8"))
    return data, parse_rules(data["versions"][0]["rules"])


def template_for(code: str) -> openpyxl.Workbook:
    data, rules = load_plan(code)
    content = roster_template(rules=rules, plan_code=data["code"], plan_name=data["name"])
    return openpyxl.load_workbook(io.BytesIO(content))


def headers(ws) -> list[str]:
    return [cell.value for cell in ws[2] if cell.value]


def validations(ws) -> dict[str, object]:
    """Data validation by the header of the column it covers."""
    by_letter = {cell.column_letter: cell.value for cell in ws[2]}
    result = {}
    for dv in ws.data_validations.dataValidation:
        letter = re.match(r"[A-Z]+", str(dv.sqref)).group(0)
        assert str(dv.sqref) == f"{letter}3:{letter}1048576"
        result[by_letter[letter]] = dv
    return result


def save(wb: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def reopen(content: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(content))


def is_red(cell) -> bool:
    return cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb == ERROR_RGB


# --- the template ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.stem)
def test_template_for_every_plan_has_contract_columns_and_helps(path):
    wb = template_for(path.stem)
    _, rules = load_plan(path.stem)
    assert wb.sheetnames == ["参保名单", "填表说明"]
    ws = wb["参保名单"]
    assert ws["A1"].value.endswith("参保名单")
    names = headers(ws)
    assert names[:6] == ["姓名", "身份证号", "性别", "出生日期", "手机号", "用工类型"]
    assert names[-2:] == ["银行卡号", "备注"]
    assert ("份数" in names) == (rules.shares.max > 1)
    assert ("高危行业" in names) == (rules.fees.high_risk_surcharge_per_share > 0)
    assert ("职业类别" in names) == bool(rules.eligibility.occupations)
    assert ws.freeze_panes == "A3"
    for cell in ws[2]:
        assert cell.comment is not None and len(cell.comment.text) > 5
        assert cell.comment.text.startswith(("必填。", "选填。"))
    letters = {cell.value: cell.column_letter for cell in ws[2]}
    for header in ("身份证号", "手机号", "银行卡号"):
        assert ws.column_dimensions[letters[header]].number_format == "@"
    lists = validations(ws)
    assert lists["性别"].type == "list" and lists["性别"].formula1 == '"男,女"'
    assert lists["用工类型"].formula1 == '"' + ",".join(EMPLOYMENT_TYPES) + '"'
    assert lists["是否参加医保"].formula1 == '"是,否"'
    notes = wb["填表说明"]
    text = "\n".join(str(c.value) for row in notes.iter_rows() for c in row if c.value)
    assert f"{rules.eligibility.age_min}–{rules.eligibility.age_max}周岁" in text
    assert "退休人员不能参加" in text
    assert "表头必须保留" in text and "标红" in text


def test_template_marks_required_headers_in_red_and_optional_in_grey():
    ws = template_for("jilin-allowance-2020")["参保名单"]
    by_header = {cell.value: cell for cell in ws[2]}
    for required in ("姓名", "身份证号", "手机号", "用工类型", "是否参加医保"):
        assert by_header[required].font.b
        assert by_header[required].font.color.rgb == "FFC00000"
        assert by_header[required].comment.text.startswith("必填。")
    assert by_header["备注"].font.color.rgb != "FFC00000"
    assert by_header["备注"].comment.text.startswith("选填。")


def test_template_with_shares_and_surcharge_offers_their_columns():
    wb = template_for("linyi-accident-2019")
    ws = wb["参保名单"]
    lists = validations(ws)
    shares = lists["份数"]
    assert (shares.type, shares.operator, shares.formula1, shares.formula2) == (
        "whole",
        "between",
        "1",
        "4",
    )
    assert lists["高危行业"].formula1 == '"是,否"'
    text = " ".join(str(c.value) for row in wb["填表说明"].iter_rows() for c in row if c.value)
    assert "每份26.00元" in text and "另加5.00元" in text and "份数须相同" in text


def test_template_for_gig_plan_requires_occupation_from_the_list():
    ws = template_for("shaanxi-gig-2023")["参保名单"]
    by_header = {cell.value: cell for cell in ws[2]}
    assert by_header["职业类别"].comment.text.startswith("必填。")
    assert validations(ws)["职业类别"].formula1 == '"' + ",".join(OCCUPATIONS) + '"'
    # Every employment type stays selectable, so a clerk records the truth and the check
    # explains who cannot join.
    assert "本计划可参加：新就业形态劳动者" in by_header["用工类型"].comment.text


def test_template_instructions_state_plan_limits():
    def text(code):
        notes = template_for(code)["填表说明"]
        return " ".join(str(c.value) for row in notes.iter_rows() for c in row if c.value)

    assert "仅限女职工" in text("beijing-female-2021")
    assert "须参加职工基本医疗保险" in text("beijing-inpatient-2011")
    assert "子女" in text("beijing-child-accident-2011")
    assert "省直机关工会补贴" in text("jilin-allowance-2020")


# --- annotating ------------------------------------------------------------------------------


def messy_roster() -> openpyxl.Workbook:
    """Title rows with merged cells, the header in row 3, the table starting at column B, a
    formula, formats on cells, and a second sheet with a formula of its own."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "名单"
    ws["B1"] = "某某公司参保名单"
    ws.merge_cells("B1:F1")
    ws["B2"] = "填报单位：工会"
    ws.append([None, "姓名", "身份证号", "手机号", "份数", "备注"])
    ws.append([None, "张三", "110101199001011234", "13800138000", 1, "甲"])
    ws.append([None, "李四", "110101199001011235", "1380013800", 2, None])
    ws.append([None, "王五", "110101199001011236", "13900139000", "=E4+E5", "丙"])
    ws["C5"].font = Font(bold=True, color="FF0000FF")
    ws["C5"].number_format = "@"
    ws["C5"].border = Border(left=Side(style="thin"))
    ws["F4"].fill = PatternFill("solid", fgColor="FF00FF00")
    ws.print_area = "B3:F6"
    other = wb.create_sheet("统计")
    other["A1"] = "合计"
    other["B1"] = "=SUM(名单!E4:E6)"
    return wb


FINDINGS = [
    Finding("id_checksum", "error", 5, "身份证号", "身份证号校验位不对", 2),
    Finding("phone_invalid", "error", 5, "手机号", "手机号应为11位", 3),
    Finding("shares_not_uniform", "error", 5, "手机号", "同一单位份数应相同", 3),
    Finding("bank_card_invalid", "warning", 4, "备注", "银行卡号校验不通过", 5),
    Finding("required_missing", "error", 5, "备注", "备注不能为空", 5),
    Finding("duplicate_in_file", "error", 6, None, "与第4行重复"),
    Finding("participation_below_minimum", "error", None, None, "参保率60%，应达到80%"),
]


@pytest.fixture
def annotated():
    source = messy_roster()
    content = annotate_roster(save(source), sheet_name="名单", findings=FINDINGS, summary=SUMMARY)
    return source, reopen(content), content


def test_bad_cells_are_filled_red_and_commented(annotated):
    _, wb, _ = annotated
    ws = wb["名单"]
    assert is_red(ws["C5"])
    assert "身份证号校验位不对" in ws["C5"].comment.text
    assert ws["C5"].comment.text.startswith(MARK)


def test_several_findings_on_one_cell_share_one_comment(annotated):
    _, wb, _ = annotated
    text = wb["名单"]["D5"].comment.text
    assert "手机号应为11位" in text and "同一单位份数应相同" in text
    assert is_red(wb["名单"]["D5"])


def test_warning_cell_is_yellow_and_keeps_nothing_of_the_old_fill(annotated):
    _, wb, _ = annotated
    cell = wb["名单"]["F4"]
    assert cell.fill.fgColor.rgb == WARNING_RGB
    assert cell.comment.text.endswith("提醒：银行卡号校验不通过")


def test_empty_bad_cell_is_marked(annotated):
    _, wb, _ = annotated
    cell = wb["名单"]["F5"]
    assert cell.value is None
    assert is_red(cell)
    assert "备注不能为空" in cell.comment.text


def test_marked_cell_keeps_its_other_formatting(annotated):
    _, wb, _ = annotated
    cell = wb["名单"]["C5"]
    assert cell.font.b and cell.font.color.rgb == "FF0000FF"
    assert cell.number_format == "@"
    assert cell.border.left.style == "thin"
    assert cell.value == "110101199001011235"


def test_row_finding_without_column_marks_the_row_and_comments_its_first_cell(annotated):
    _, wb, _ = annotated
    ws = wb["名单"]
    assert ws["A6"].comment is None and not is_red(ws["A6"])
    assert "与第4行重复" in ws["B6"].comment.text
    assert all(is_red(ws[ref]) for ref in ("B6", "C6", "D6", "F6"))
    # E6 held only a formula, which openpyxl saves without a value: it is empty now.
    assert ws["E6"].value is None and not is_red(ws["E6"])
    assert ws["C6"].comment is None


def test_untouched_cells_and_other_sheets_are_unchanged(annotated):
    source, wb, _ = annotated
    marked = {"C5", "D5", "F4", "F5", "B6", "C6", "D6", "E6", "F6"}
    before, after = source["名单"], wb["名单"]
    for row in before.iter_rows(min_row=1, max_row=6, max_col=6):
        for cell in row:
            if cell.coordinate in marked:
                continue
            other = after[cell.coordinate]
            assert other.value == cell.value, cell.coordinate
            assert other.number_format == cell.number_format
            assert other.fill.fgColor.rgb == cell.fill.fgColor.rgb
            assert other.comment is None
    # Formulas are gone (openpyxl saves none with a cached value, so these cells are empty).
    assert after["E6"].value is None
    assert after["B3"].value == "姓名" and not is_red(after["B3"])
    assert "B1:F1" in {str(r) for r in after.merged_cells.ranges}
    assert wb["统计"]["B1"].value is None and wb["统计"]["A1"].value == "合计"
    assert after.print_area == "'名单'!$B$3:$F$6"


def test_unit_findings_appear_only_in_the_summary(annotated):
    _, wb, _ = annotated
    ws = wb["名单"]
    comments = [c.comment.text for row in ws.iter_rows() for c in row if c.comment]
    assert not any("参保率" in text for text in comments)
    listed = [row for row in wb[SUMMARY_SHEET].iter_rows(values_only=True)]
    assert (
        "全表",
        None,
        "参保率不足",
        "错误",
        "参保率60%，应达到80%",
        "participation_below_minimum",
    ) in listed


def test_summary_sheet_comes_first_active_and_lists_counts_and_findings(annotated):
    _, wb, _ = annotated
    assert wb.sheetnames == [SUMMARY_SHEET, "名单", "统计"]
    assert wb.active.title == SUMMARY_SHEET
    assert not wb["名单"].sheet_view.tabSelected
    ws = wb[SUMMARY_SHEET]
    pairs = {row[0]: row[1] for row in ws.iter_rows(values_only=True) if row[0]}
    assert pairs["计划"] == "jilin-allowance-2020"
    assert pairs["检查时间"] == "2024-03-01 09:30"
    assert (pairs["名单行数"], pairs["无误行数"], pairs["有错误的行数"]) == (3, 1, 2)
    assert (pairs["错误"], pairs["提醒"]) == (6, 1)
    assert pairs["会费合计（元，无误行）"] == "110.00"
    rows = list(ws.iter_rows(values_only=True))
    header = rows.index(("行号", "列", "问题类型", "级别", "说明", "代码"))
    table = rows[header + 1 :]
    assert [r[0] for r in table] == ["全表", 4, 5, 5, 5, 5, 6]
    assert table[1] == (
        4,
        "备注",
        "银行卡号可能有误",
        "提醒",
        "银行卡号校验不通过",
        "bank_card_invalid",
    )
    links = {c.value: c.hyperlink.location for row in ws.iter_rows() for c in row if c.hyperlink}
    assert links[4] == "'名单'!F4"
    assert links[6] == "'名单'!B6"


def test_annotating_a_filled_template_keeps_its_header_comments():
    data, rules = load_plan("jilin-allowance-2020")
    wb = reopen(roster_template(rules=rules, plan_code=data["code"], plan_name=data["name"]))
    ws = wb["参保名单"]
    ws.append(["张三", "110101199001011234", "男", None, "13800138000", "退休", "是"])
    findings = [
        Finding("employment_type_ineligible", "error", 3, "用工类型", "退休人员不能参加", 5),
        Finding("phone_invalid", "error", 2, "姓名", "测试：表头上的问题", 0),
    ]
    out = reopen(annotate_roster(save(wb), sheet_name="参保名单", findings=findings, summary={}))
    ws = out["参保名单"]
    assert "退休人员不能参加" in ws["F3"].comment.text
    assert ws["B2"].comment.text.startswith("必填。18位")
    merged = ws["A2"].comment.text
    assert merged.startswith(MARK) and "职工本人姓名" in merged
    assert out["填表说明"]["A1"].value.endswith("填表说明")
    assert len(out["参保名单"].data_validations.dataValidation) == 3


def test_annotating_again_removes_the_marks_of_the_earlier_check():
    first = annotate_roster(
        save(messy_roster()), sheet_name="名单", findings=FINDINGS, summary=SUMMARY
    )
    again = [Finding("name_invalid", "error", 4, "姓名", "姓名不能含数字", 1)]
    wb = reopen(annotate_roster(first, sheet_name="名单", findings=again, summary=SUMMARY))
    ws = wb["名单"]
    assert wb.sheetnames == [SUMMARY_SHEET, "名单", "统计"]
    assert is_red(ws["B4"]) and "姓名不能含数字" in ws["B4"].comment.text
    for ref in ("C5", "D5", "F5", "B6", "C6"):
        assert not is_red(ws[ref]) and ws[ref].comment is None, ref
    assert ws["C5"].font.b and ws["C5"].number_format == "@"
    listed = [row[5] for row in wb[SUMMARY_SHEET].iter_rows(values_only=True) if len(row) > 5]
    assert "name_invalid" in listed and "id_checksum" not in listed


def test_summary_says_when_comments_were_capped(monkeypatch):
    monkeypatch.setattr(annotate, "MAX_COMMENTS", 2)
    findings = [
        Finding("phone_invalid", "error", r, "手机号", "手机号应为11位", 3) for r in (4, 5, 6)
    ]
    wb = reopen(
        annotate_roster(save(messy_roster()), sheet_name="名单", findings=findings, summary=SUMMARY)
    )
    ws = wb["名单"]
    assert [ws[f"D{r}"].comment is not None for r in (4, 5, 6)] == [True, True, False]
    assert is_red(ws["D6"])
    texts = [c for row in wb[SUMMARY_SHEET].iter_rows(values_only=True) for c in row if c]
    assert any("另有1个单元格只标了颜色" in str(t) for t in texts)


def test_unknown_sheet_is_refused():
    with pytest.raises(ValueError, match="没有名为"):
        annotate_roster(save(messy_roster()), sheet_name="Sheet9", findings=[], summary={})


def test_path_source_without_findings_gets_an_empty_summary(tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(save(messy_roster()))
    wb = reopen(annotate_roster(path, sheet_name="名单", findings=[], summary=SUMMARY))
    assert wb.sheetnames[0] == SUMMARY_SHEET
    values = [c for row in wb[SUMMARY_SHEET].iter_rows(values_only=True) for c in row]
    assert "未发现问题。" in values
    assert wb["名单"]["C5"].comment is None


def minimal_package(sheet_xml: str) -> bytes:
    """A workbook as some generators write it: no styles part, rows and cells without ``r``."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    kind = "application/vnd.openxmlformats-"
    sheet_kind = kind + "officedocument.spreadsheetml."
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="{kind}package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{sheet_kind}sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            f'ContentType="{sheet_kind}worksheet+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<x:workbook xmlns:x="{main}" xmlns:r="{rel}"><x:sheets>'
            '<x:sheet name="名单" sheetId="1" r:id="rId1"/></x:sheets></x:workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": f'<x:worksheet xmlns:x="{main}">{sheet_xml}</x:worksheet>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return out.getvalue()


def test_prefixed_package_without_styles_and_row_numbers_is_annotated():
    cell = '<x:c t="inlineStr"><x:is><x:t>{}</x:t></x:is></x:c>'
    rows = "".join(
        "<x:row>" + "".join(cell.format(v) for v in values) + "</x:row>"
        for values in (
            ["姓名", "身份证号", "手机号"],
            ["张三", "1101", "138"],
            ["李四", "1102", "139"],
        )
    )
    source = minimal_package(f"<x:sheetData>{rows}</x:sheetData>")
    findings = [
        Finding("id_format", "error", 2, "身份证号", "身份证号应为18位", 1),
        Finding("name_invalid", "error", 3, "姓名", "姓名有误", 0),
        Finding("phone_invalid", "error", 5, "手机号", "第5行没有这一行", 2),
    ]
    wb = reopen(annotate_roster(source, sheet_name="名单", findings=findings, summary={}))
    ws = wb["名单"]
    assert [c.value for c in ws[3]] == ["李四", "1102", "139"]
    assert is_red(ws["B2"]) and "身份证号应为18位" in ws["B2"].comment.text
    assert is_red(ws["A3"]) and not is_red(ws["B3"])
    assert is_red(ws["C5"]) and "第5行没有这一行" in ws["C5"].comment.text


def test_sheet_formatted_to_the_last_row_is_annotated():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "名单"
    ws.append(["姓名", "身份证号"])
    ws["A1"].font = Font(bold=True)
    for i in range(50):
        ws.append([f"张{i}", f"1101011990010112{i:02d}"])
    source = zipfile.ZipFile(io.BytesIO(save(wb)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                empty = "".join(
                    f'<row r="{r}" s="1" customFormat="1"><c r="A{r}" s="1"/></row>'
                    for r in range(52, 1_048_577)
                )
                data = text.replace("</sheetData>", empty + "</sheetData>").encode()
            target.writestr(info, data)
    findings = [
        Finding("id_checksum", "error", 10, "身份证号", "身份证号校验位不对", 1),
        Finding("name_invalid", "error", 60, "姓名", "空行上的测试", 0),
    ]
    content = annotate_roster(out.getvalue(), sheet_name="名单", findings=findings, summary={})
    sheet = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml")
    assert sheet.count(b"<row ") == 1_048_576
    result = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    rows = result["名单"].iter_rows(min_row=10, max_row=10)
    assert is_red(next(rows)[1])
    comments = zipfile.ZipFile(io.BytesIO(content)).read("xl/comments1.xml").decode()
    assert 'ref="B10"' in comments and 'ref="A60"' in comments
    assert re.search(rb'<row r="60"[^>]*><c r="A60" s="\d+"/>', sheet)
