"""The rule vocabulary of a plan version, as plain Python objects.

A plan version stores its rules as JSON. This module is the single place that knows what that
JSON may contain: ``parse_rules`` turns a dict into frozen dataclasses and refuses anything it
does not understand, naming the path of each problem (``benefits[0].stay_cap.local``) so that a
form can show the message beside the field that caused it. ``PlanRules.to_dict`` gives the
canonical JSON back, so loading and saving a version leaves it unchanged.
The value checks ``parse_rules`` is built on (``_Reader``, which collects every problem with
its path) are in ``plans.engine.rules_reader``.

No Django here: the engine must run in a worker, a command and a benchmark alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from plans.engine.rules_reader import MONEY_MAX as MONEY_MAX  # re-exported
from plans.engine.rules_reader import _join, _Reader

SCHEMA_VERSION = 1

EMPLOYMENT_TYPES = ("正式职工", "合同制职工", "临时职工", "新就业形态劳动者", "退休")
RETIRED = "退休"
OCCUPATIONS = ("货车司机", "网约车司机", "快递员", "外卖员", "其他")
GENDERS = ("M", "F")
PAYERS = ("unit", "union", "member", "subsidy")
INSURED = ("member", "member_child")
LOCALITIES = ("local", "elsewhere")
BENEFIT_TYPES = ("hospital_allowance", "critical_illness", "accident", "reimbursement")
REIMBURSEMENT_EVENTS = ("hospital_stay", "accident", "fire")
DEDUCTIBLE_SCOPES = ("event", "period")
DISABILITY_GRADES = tuple(str(grade) for grade in range(1, 11))


class RulesError(ValueError):
    """Rules that cannot be used. ``errors`` pairs each problem with the path that caused it."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors))

    @property
    def messages(self) -> list[str]:
        return [f"{path}: {message}" if path else message for path, message in self.errors]


@dataclass(frozen=True)
class Eligibility:
    age_min: int
    age_max: int
    employment_types: tuple[str, ...]
    genders: tuple[str, ...] = ()
    occupations: tuple[str, ...] = ()
    medical_insurance_required: bool = False
    # For plans that cover a member's child, the child's age range (full years at coverage
    # start); the member's own age range still applies to the member.
    child_age_min: int | None = None
    child_age_max: int | None = None


@dataclass(frozen=True)
class Shares:
    min: int
    max: int
    uniform_per_unit: bool = False


@dataclass(frozen=True)
class Subsidy:
    name: str
    amount_per_member: Decimal
    # Who pays the subsidy to the office (a union, a fund). Optional: older rules name only the
    # subsidy, and then its name stands for the giver as well (``payer``). Left out of the
    # canonical JSON when empty, so rules written before it existed round-trip unchanged.
    giver: str = field(default="", metadata={"omit_empty": True})

    @property
    def payer(self) -> str:
        return self.giver or self.name


@dataclass(frozen=True)
class Fees:
    per_share: Decimal
    high_risk_surcharge_per_share: Decimal = Decimal("0.00")
    subsidies: tuple[Subsidy, ...] = ()

    @property
    def subsidy_per_member(self) -> Decimal:
        return sum((s.amount_per_member for s in self.subsidies), Decimal("0.00"))


@dataclass(frozen=True)
class MinShare:
    """At least ``min_percent`` of the fee left after subsidies comes from ``payers``."""

    payers: tuple[str, ...]
    min_percent: Decimal


@dataclass(frozen=True)
class FundingMode:
    """A named way to fund the fee: exactly these payers carry it (Beijing's five ways)."""

    code: str
    label: str
    payers: tuple[str, ...]


@dataclass(frozen=True)
class Funding:
    payers: tuple[str, ...]
    min_shares: tuple[MinShare, ...] = ()
    modes: tuple[FundingMode, ...] = ()


@dataclass(frozen=True)
class ParticipationTier:
    headcount_from: int
    headcount_to: int | None
    min_rate: Decimal


@dataclass(frozen=True)
class Document:
    code: str
    label: str


@dataclass(frozen=True)
class HospitalAllowance:
    code: str
    label: str
    min_hospital_grade: int
    min_stay_days: int
    deductible_days: int
    daily_rate: Mapping[str, Decimal]
    stay_cap: Mapping[str, Decimal]
    max_paid_stays_per_period: int | None
    period_cap: Decimal | None
    per_share: bool = False
    waiting_days: int = 0
    documents: tuple[Document, ...] = ()
    type: str = "hospital_allowance"


@dataclass(frozen=True)
class IllnessTier:
    """Pays ``amount`` when the diagnosis is more than ``after_day`` days after coverage start
    and at most ``through_day`` days (open-ended when None)."""

    after_day: int
    through_day: int | None
    amount: Decimal
    label: str


@dataclass(frozen=True)
class CriticalIllness:
    code: str
    label: str
    diseases: tuple[str, ...]
    tiers: tuple[IllnessTier, ...]
    times_per_period: int = 1
    per_share: bool = False
    documents: tuple[Document, ...] = ()
    type: str = "critical_illness"


@dataclass(frozen=True)
class Accident:
    code: str
    label: str
    death_amount: Decimal
    disability_base: Decimal
    disability_base_in_hospital: Decimal | None
    disability_percent: Mapping[str, int]
    cap_at_applied_base: bool = True
    excludes_work_injury: bool = False
    per_share: bool = False
    waiting_days: int = 0
    documents: tuple[Document, ...] = ()
    type: str = "accident"


@dataclass(frozen=True)
class Reimbursement:
    code: str
    label: str
    event: str
    deductible: Decimal
    deductible_scope: str
    rate: Decimal
    period_cap: Decimal | None
    min_hospital_grade: int = 1
    per_share: bool = False
    waiting_days: int = 0
    documents: tuple[Document, ...] = ()
    type: str = "reimbursement"


# A benefit with ``per_share`` multiplies every amount it names (rates, per-event amounts and
# caps, including an accident's applied base) by the shares of the enrollment it pays on.
Benefit = HospitalAllowance | CriticalIllness | Accident | Reimbursement


@dataclass(frozen=True)
class PlanRules:
    schema_version: int
    insured: str
    coverage_months: int
    eligibility: Eligibility
    shares: Shares
    fees: Fees
    funding: Funding
    participation: tuple[ParticipationTier, ...]
    filing_deadline_months: int
    benefits: tuple[Benefit, ...] = field(default=())

    def benefit(self, code: str) -> Benefit | None:
        for benefit in self.benefits:
            if benefit.code == code:
                return benefit
        return None

    def participation_min_rate(self, headcount: int) -> Decimal | None:
        """The rate a unit of this size must reach, or None when the plan sets no rule for it."""
        for tier in self.participation:
            if headcount >= tier.headcount_from and (
                tier.headcount_to is None or headcount <= tier.headcount_to
            ):
                return tier.min_rate
        return None

    def to_dict(self) -> dict[str, Any]:
        return _dump(self)


# --- parsing ---------------------------------------------------------------------------------


def parse_rules(data: Any) -> PlanRules:
    """Validate ``data`` and return the rules, or raise RulesError listing every problem."""
    r = _Reader()
    top = r.obj(
        data,
        "",
        (
            "schema_version",
            "insured",
            "coverage_months",
            "eligibility",
            "shares",
            "fees",
            "funding",
            "participation",
            "filing_deadline_months",
            "benefits",
        ),
    )
    version = top.get("schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:
        r.fail("schema_version", f"规则格式版本应为 {SCHEMA_VERSION}，实际为 {version!r}")
    insured = r.one_of(top, "insured", "", INSURED, default="member")
    coverage_months = r.integer(top, "coverage_months", "", minimum=1, maximum=60, default=12)
    eligibility = _parse_eligibility(r, top.get("eligibility"), "eligibility")
    shares = _parse_shares(r, top.get("shares"), "shares")
    fees = _parse_fees(r, top.get("fees"), "fees")
    funding = _parse_funding(r, top.get("funding"), "funding")
    participation = r.items(top, "participation", "", lambda v, p: _parse_tier(r, v, p), default=())
    _check_participation(r, participation)
    if insured == "member_child" and eligibility.child_age_max is None:
        r.fail("eligibility.child_age_max", "保障子女的计划须写明子女的年龄上限")
    deadline = r.integer(top, "filing_deadline_months", "", minimum=1, maximum=120)
    benefits = r.items(top, "benefits", "", lambda v, p: _parse_benefit(r, v, p))
    codes = [b.code for b in benefits if b is not None]
    if len(set(codes)) != len(codes):
        r.fail("benefits", "保障项目代码重复")
    if not benefits:
        r.fail("benefits", "至少要有一项保障")
    if fees is not None and fees.subsidy_per_member > fees.per_share * (
        shares.min if shares else 1
    ):
        r.fail("fees.subsidies", "补贴不能超过最低会费")
    if r.errors:
        raise RulesError(r.errors)
    return PlanRules(
        schema_version=SCHEMA_VERSION,
        insured=insured,
        coverage_months=coverage_months,
        eligibility=eligibility,
        shares=shares,
        fees=fees,
        funding=funding,
        participation=participation,
        filing_deadline_months=deadline,
        benefits=tuple(b for b in benefits if b is not None),
    )


def _parse_eligibility(r: _Reader, data: Any, path: str) -> Eligibility:
    d = r.obj(
        data,
        path,
        (
            "age_min",
            "age_max",
            "employment_types",
            "genders",
            "occupations",
            "medical_insurance_required",
            "child_age_min",
            "child_age_max",
        ),
    )
    age_min = r.integer(d, "age_min", path, minimum=0, maximum=120)
    age_max = r.integer(d, "age_max", path, minimum=0, maximum=120)
    if age_min is not None and age_max is not None and age_min > age_max:
        r.fail(_join(path, "age_max"), "年龄上限不能小于下限（年龄范围为空）")
    types = r.choices(d, "employment_types", path, EMPLOYMENT_TYPES)
    child_min = r.integer(
        d, "child_age_min", path, minimum=0, maximum=30, nullable=True, default=None
    )
    child_max = r.integer(
        d, "child_age_max", path, minimum=0, maximum=30, nullable=True, default=None
    )
    if child_min is not None and child_max is not None and child_min > child_max:
        r.fail(_join(path, "child_age_max"), "子女年龄上限不能小于下限（年龄范围为空）")
    if RETIRED in types:
        r.fail(_join(path, "employment_types"), "退休人员不能参加在职职工互助保障")
    return Eligibility(
        age_min=age_min or 0,
        age_max=age_max or 0,
        employment_types=types,
        genders=r.choices(d, "genders", path, GENDERS, default=(), allow_empty=True),
        occupations=r.choices(d, "occupations", path, OCCUPATIONS, default=(), allow_empty=True),
        medical_insurance_required=r.boolean(d, "medical_insurance_required", path, False),
        child_age_min=child_min,
        child_age_max=child_max,
    )


def _parse_shares(r: _Reader, data: Any, path: str) -> Shares:
    d = r.obj(data, path, ("min", "max", "uniform_per_unit"))
    low = r.integer(d, "min", path, minimum=1, maximum=100)
    high = r.integer(d, "max", path, minimum=1, maximum=100)
    if low is not None and high is not None and low > high:
        r.fail(_join(path, "max"), "最多份数不能小于最少份数")
    return Shares(
        min=low or 1, max=high or 1, uniform_per_unit=r.boolean(d, "uniform_per_unit", path, False)
    )


def _parse_fees(r: _Reader, data: Any, path: str) -> Fees:
    d = r.obj(data, path, ("per_share", "high_risk_surcharge_per_share", "subsidies"))
    per_share = r.decimal(d, "per_share", path)
    if per_share is not None and per_share == 0:
        r.fail(_join(path, "per_share"), "每份会费应大于 0")
    surcharge = r.decimal(d, "high_risk_surcharge_per_share", path, default=Decimal("0.00"))

    def subsidy(value: Any, where: str) -> Subsidy:
        s = r.obj(value, where, ("name", "amount_per_member", "giver"))
        giver = s.get("giver", "")
        if not isinstance(giver, str):
            r.fail(_join(where, "giver"), "出资方名称应为文字")
            giver = ""
        elif len(giver.strip()) > 200:
            r.fail(_join(where, "giver"), "不能超过 200 个字")
        return Subsidy(
            name=r.text(s, "name", where),
            amount_per_member=r.decimal(s, "amount_per_member", where) or Decimal(0),
            giver=giver.strip(),
        )

    subsidies = r.items(d, "subsidies", path, subsidy, default=())
    return Fees(
        per_share=per_share or Decimal("0.00"),
        high_risk_surcharge_per_share=surcharge or Decimal("0.00"),
        subsidies=subsidies,
    )


def _parse_funding(r: _Reader, data: Any, path: str) -> Funding:
    d = r.obj(data, path, ("payers", "min_shares", "modes"))
    payers = r.choices(d, "payers", path, ("unit", "union", "member"))

    def min_share(value: Any, where: str) -> MinShare:
        m = r.obj(value, where, ("payers", "min_percent"))
        group = r.choices(m, "payers", where, payers)
        percent = r.decimal(m, "min_percent", where, money=False, maximum=Decimal(100))
        return MinShare(payers=group, min_percent=percent if percent is not None else Decimal(0))

    def mode(value: Any, where: str) -> FundingMode:
        m = r.obj(value, where, ("code", "label", "payers"))
        return FundingMode(
            code=r.text(m, "code", where, max_len=32),
            label=r.text(m, "label", where),
            payers=r.choices(m, "payers", where, payers),
        )

    modes = r.items(d, "modes", path, mode, default=())
    if len({m.code for m in modes}) != len(modes):
        r.fail(_join(path, "modes"), "筹资方式代码重复")
    min_shares = r.items(d, "min_shares", path, min_share, default=())
    for index, m in enumerate(modes):
        for rule in min_shares:
            if rule.min_percent > 0 and not set(rule.payers) & set(m.payers):
                r.fail(
                    _join(path, f"modes[{index}].payers"), "这种筹资方式与最低负担比例的要求相矛盾"
                )
    return Funding(payers=payers, min_shares=min_shares, modes=modes)


def _parse_tier(r: _Reader, data: Any, path: str) -> ParticipationTier:
    d = r.obj(data, path, ("headcount_from", "headcount_to", "min_rate"))
    low = r.integer(d, "headcount_from", path, minimum=0)
    high = r.integer(d, "headcount_to", path, minimum=0, nullable=True, default=None)
    if low is not None and high is not None and high < low:
        r.fail(_join(path, "headcount_to"), "人数上限不能小于下限")
    rate = r.decimal(d, "min_rate", path, money=False, maximum=Decimal(1))
    return ParticipationTier(
        headcount_from=low or 0,
        headcount_to=high,
        min_rate=rate if rate is not None else Decimal(0),
    )


def _check_participation(r: _Reader, tiers: tuple[ParticipationTier, ...]) -> None:
    ordered = sorted(tiers, key=lambda t: t.headcount_from)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.headcount_to is None or before.headcount_to >= after.headcount_from:
            r.fail("participation", "参保率档次的人数范围重叠")


def _parse_documents(r: _Reader, d: Mapping[str, Any], path: str) -> tuple[Document, ...]:
    def document(value: Any, where: str) -> Document:
        m = r.obj(value, where, ("code", "label"))
        return Document(code=r.text(m, "code", where, max_len=40), label=r.text(m, "label", where))

    docs = r.items(d, "documents", path, document, default=())
    if len({doc.code for doc in docs}) != len(docs):
        r.fail(_join(path, "documents"), "材料代码重复")
    return docs


def _by_locality(r: _Reader, d: Mapping[str, Any], key: str, path: str) -> dict[str, Decimal]:
    where = _join(path, key)
    m = r.obj(d.get(key), where, LOCALITIES)
    return {loc: r.decimal(m, loc, where) or Decimal("0.00") for loc in LOCALITIES}


_COMMON = ("code", "label", "type", "per_share", "documents")


def _parse_benefit(r: _Reader, data: Any, path: str) -> Benefit | None:
    if not isinstance(data, Mapping):
        r.fail(path, "应为一个对象（键值表）")
        return None
    kind = data.get("type")
    if kind not in BENEFIT_TYPES:
        r.fail(_join(path, "type"), f"保障类型应为以下之一：{'、'.join(BENEFIT_TYPES)}")
        return None
    return _BENEFIT_PARSERS[kind](r, data, path)


def _parse_hospital_allowance(r: _Reader, data: Any, path: str) -> HospitalAllowance:
    d = r.obj(
        data,
        path,
        _COMMON
        + (
            "min_hospital_grade",
            "min_stay_days",
            "deductible_days",
            "daily_rate",
            "stay_cap",
            "max_paid_stays_per_period",
            "period_cap",
            "waiting_days",
        ),
    )
    daily = _by_locality(r, d, "daily_rate", path)
    caps = _by_locality(r, d, "stay_cap", path)
    for loc in LOCALITIES:
        if caps[loc] < daily[loc]:
            r.fail(_join(path, f"stay_cap.{loc}"), "每次住院封顶额低于一天的津贴")
    period_cap = r.decimal(d, "period_cap", path, nullable=True, default=None)
    if period_cap is not None and period_cap < max(caps.values()):
        r.fail(_join(path, "period_cap"), "保障期封顶额低于每次住院封顶额")
    min_days = r.integer(d, "min_stay_days", path, minimum=1, maximum=365)
    deductible = r.integer(d, "deductible_days", path, minimum=0, maximum=365, default=0)
    if min_days is not None and deductible is not None and deductible >= min_days:
        r.fail(_join(path, "deductible_days"), "免赔天数应小于最短住院天数，否则合格的住院也不给付")
    return HospitalAllowance(
        code=r.text(d, "code", path, max_len=40),
        label=r.text(d, "label", path),
        min_hospital_grade=r.integer(d, "min_hospital_grade", path, minimum=1, maximum=3) or 1,
        min_stay_days=min_days or 1,
        deductible_days=deductible or 0,
        daily_rate=daily,
        stay_cap=caps,
        max_paid_stays_per_period=r.integer(
            d, "max_paid_stays_per_period", path, minimum=1, nullable=True, default=None
        ),
        period_cap=period_cap,
        per_share=r.boolean(d, "per_share", path, False),
        waiting_days=r.integer(d, "waiting_days", path, minimum=0, maximum=365, default=0) or 0,
        documents=_parse_documents(r, d, path),
    )


def _parse_critical_illness(r: _Reader, data: Any, path: str) -> CriticalIllness:
    d = r.obj(data, path, _COMMON + ("diseases", "tiers", "times_per_period"))
    diseases_raw = d.get("diseases")
    diseases: tuple[str, ...] = ()
    if (
        not isinstance(diseases_raw, list)
        or not diseases_raw
        or not all(isinstance(x, str) and x.strip() for x in diseases_raw)
    ):
        r.fail(_join(path, "diseases"), "应列出至少一种所保障的疾病")
    else:
        diseases = tuple(x.strip() for x in diseases_raw)
        if len(set(diseases)) != len(diseases):
            r.fail(_join(path, "diseases"), "疾病名称重复")

    def tier(value: Any, where: str) -> IllnessTier:
        t = r.obj(value, where, ("after_day", "through_day", "amount", "label"))
        after = r.integer(t, "after_day", where, minimum=0, maximum=3650)
        through = r.integer(t, "through_day", where, minimum=0, nullable=True, default=None)
        if after is not None and through is not None and through <= after:
            r.fail(_join(where, "through_day"), "档次的结束天数应大于开始天数")
        return IllnessTier(
            after_day=after or 0,
            through_day=through,
            amount=r.decimal(t, "amount", where) or Decimal("0.00"),
            label=r.text(t, "label", where),
        )

    tiers = r.items(d, "tiers", path, tier)
    ordered = sorted(tiers, key=lambda t: t.after_day)
    if not tiers:
        r.fail(_join(path, "tiers"), "至少要有一个给付档次")
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.through_day is None or before.through_day > after.after_day:
            r.fail(_join(path, "tiers"), "给付档次的天数范围重叠")
        elif before.through_day < after.after_day:
            r.fail(_join(path, "tiers"), "给付档次之间有空档")
    return CriticalIllness(
        code=r.text(d, "code", path, max_len=40),
        label=r.text(d, "label", path),
        diseases=diseases,
        tiers=tuple(ordered),
        times_per_period=r.integer(d, "times_per_period", path, minimum=1, default=1) or 1,
        per_share=r.boolean(d, "per_share", path, False),
        documents=_parse_documents(r, d, path),
    )


def _parse_accident(r: _Reader, data: Any, path: str) -> Accident:
    d = r.obj(
        data,
        path,
        _COMMON
        + (
            "death_amount",
            "disability_base",
            "disability_base_in_hospital",
            "disability_percent",
            "cap_at_applied_base",
            "excludes_work_injury",
            "waiting_days",
        ),
    )
    where = _join(path, "disability_percent")
    table = r.obj(d.get("disability_percent"), where, DISABILITY_GRADES)
    percent: dict[str, int] = {}
    for grade in DISABILITY_GRADES:
        value = r.integer(table, grade, where, minimum=0, maximum=100)
        percent[grade] = value or 0
    base = r.decimal(d, "disability_base", path)
    return Accident(
        code=r.text(d, "code", path, max_len=40),
        label=r.text(d, "label", path),
        death_amount=r.decimal(d, "death_amount", path) or Decimal("0.00"),
        disability_base=base or Decimal("0.00"),
        disability_base_in_hospital=r.decimal(
            d, "disability_base_in_hospital", path, nullable=True, default=None
        ),
        disability_percent=percent,
        cap_at_applied_base=r.boolean(d, "cap_at_applied_base", path, True),
        excludes_work_injury=r.boolean(d, "excludes_work_injury", path, False),
        per_share=r.boolean(d, "per_share", path, False),
        waiting_days=r.integer(d, "waiting_days", path, minimum=0, maximum=365, default=0) or 0,
        documents=_parse_documents(r, d, path),
    )


def _parse_reimbursement(r: _Reader, data: Any, path: str) -> Reimbursement:
    d = r.obj(
        data,
        path,
        _COMMON
        + (
            "event",
            "deductible",
            "deductible_scope",
            "rate",
            "period_cap",
            "min_hospital_grade",
            "waiting_days",
        ),
    )
    rate = r.decimal(d, "rate", path, money=False, maximum=Decimal(1))
    if rate is not None and rate == 0:
        r.fail(_join(path, "rate"), "给付比例应大于 0")
    return Reimbursement(
        code=r.text(d, "code", path, max_len=40),
        label=r.text(d, "label", path),
        event=r.one_of(d, "event", path, REIMBURSEMENT_EVENTS),
        deductible=r.decimal(d, "deductible", path) or Decimal("0.00"),
        deductible_scope=r.one_of(d, "deductible_scope", path, DEDUCTIBLE_SCOPES),
        rate=rate or Decimal("0"),
        period_cap=r.decimal(d, "period_cap", path, nullable=True, default=None),
        min_hospital_grade=r.integer(d, "min_hospital_grade", path, minimum=1, maximum=3, default=1)
        or 1,
        per_share=r.boolean(d, "per_share", path, False),
        waiting_days=r.integer(d, "waiting_days", path, minimum=0, maximum=365, default=0) or 0,
        documents=_parse_documents(r, d, path),
    )


_BENEFIT_PARSERS: dict[str, Callable[[_Reader, Any, str], Benefit]] = {
    "hospital_allowance": _parse_hospital_allowance,
    "critical_illness": _parse_critical_illness,
    "accident": _parse_accident,
    "reimbursement": _parse_reimbursement,
}


# --- dumping ---------------------------------------------------------------------------------


def _dump(value: Any) -> Any:
    """Canonical JSON: money and rates as strings, tuples as lists, every field present."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (tuple, list)):
        return [_dump(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _dump(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        return {
            name: _dump(getattr(value, name))
            for name, spec in value.__dataclass_fields__.items()
            if not (spec.metadata.get("omit_empty") and not getattr(value, name))
        }
    return value
