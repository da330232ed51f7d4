"""The roster's columns (CONTRACTS §1) as plain data, in the order the template lays them out.

The reader matches a header against ``header`` and ``aliases`` after removing every space and
line break, ``*``/``＊`` marks and a trailing bracketed note such as ``（必填）`` (see
``plans.engine.roster.header_text``); the template writes ``header``. ``values`` lists the
fixed choices of a column (empty for free text and numbers), and ``help`` is the Chinese
sentence shown to a clerk on the template's header comment and instructions sheet.
"""

from __future__ import annotations

from dataclasses import dataclass

from plans.engine.rules import EMPLOYMENT_TYPES, OCCUPATIONS

YES_NO = ("是", "否")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    aliases: tuple[str, ...]
    required: bool
    values: tuple[str, ...]
    help: str

    @property
    def names(self) -> tuple[str, ...]:
        """Every header text the reader accepts for this column."""
        return (self.header, *self.aliases)


COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", (), True, (), "职工本人姓名，1–30个字，不能含数字。"),
    Column(
        "id_number",
        "身份证号",
        ("身份证号码", "公民身份号码", "证件号码"),
        True,
        (),
        "18位居民身份证号，末位X大小写均可。请保持本列为文本格式，"
        "否则Excel会把号码显示成1.10101E+17并丢失末几位。",
    ),
    Column("gender", "性别", (), False, ("男", "女"), "男或女，须与身份证号一致。"),
    Column(
        "birth_date",
        "出生日期",
        (),
        False,
        (),
        "日期，如1990-01-02、1990/1/2、19900102或1990年1月2日，须与身份证号一致。",
    ),
    Column(
        "phone",
        "手机号",
        ("手机号码", "联系电话"),
        True,
        (),
        "本人大陆手机号，11位数字，以1开头。",
    ),
    Column(
        "employment_type",
        "用工类型",
        ("用工形式",),
        True,
        EMPLOYMENT_TYPES,
        "从下拉列表中选择：" + "、".join(EMPLOYMENT_TYPES) + "。",
    ),
    Column(
        "occupation",
        "职业类别",
        ("新业态类别",),
        False,
        OCCUPATIONS,
        "新就业形态劳动者的职业，从下拉列表中选择：" + "、".join(OCCUPATIONS) + "。",
    ),
    Column(
        "medical_insurance",
        "是否参加医保",
        ("是否参加职工医保", "医保"),
        True,
        YES_NO,
        "是否参加职工基本医疗保险：是或否。",
    ),
    Column("shares", "份数", (), False, (), "参加的份数，整数；不填按1份。"),
    Column(
        "high_risk",
        "高危行业",
        ("是否高危",),
        False,
        YES_NO,
        "是否从事高危行业：是或否；不填按否。",
    ),
    Column(
        "bank_card",
        "银行卡号",
        (),
        False,
        (),
        "本人银行卡号，只填数字。请保持本列为文本格式，以免Excel改动长数字。",
    ),
    Column("note", "备注", (), False, (), "其他需要说明的情况，可不填。"),
)

COLUMNS_BY_KEY: dict[str, Column] = {column.key: column for column in COLUMNS}

# Columns holding long digit strings: Excel turns them into rounded numbers unless the cells are
# formatted as text before anything is typed in.
TEXT_KEYS = frozenset({"id_number", "phone", "bank_card"})
