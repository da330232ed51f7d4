"""The demo data set: one office, two district unions, their units, a few hundred members, one
user per role, and a paid roster so every page has something real to show.

Everything is generated from a fixed seed, so two runs give the same people, and loading is
idempotent: a second run changes nothing.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from enrollment.models import Enrollment, OfficeBankAccount, Receipt, Roster
from enrollment.payments import roster_dues
from enrollment.services import coverage_end_for, enrollment_add, member_upsert
from organisation.models import Member, Union, User
from plans.engine.funding import FundingChoice, funding_split
from plans.engine.identity import credit_code_check_char, id_check_digit
from plans.engine.money import quantize_money
from plans.models import Plan
from plans.selectors import version_in_force

DEMO_PASSWORD = "demo-2026-portal"  # noqa: S105 - listed in the README for the demo logins

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱"
)
GIVEN = [
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "文",
    "华",
    "红",
    "玉兰",
    "桂兰",
    "志强",
    "海燕",
    "晓东",
    "春梅",
    "立新",
    "国庆",
    "建国",
    "雪梅",
    "丹",
    "鹏",
    "宇",
    "浩",
    "欣怡",
    "子涵",
    "思远",
    "俊杰",
    "佳怡",
    "海波",
    "晨",
    "琳",
    "倩",
    "婷",
    "斌",
    "辉",
    "凯",
    "博",
    "慧",
    "颖",
    "雪",
    "岩",
    "鑫",
    "亮",
    "健",
    "晶",
    "林",
    "波",
    "帆",
    "宁",
    "悦",
    "彤",
    "瑶",
    "昊",
    "楠",
]


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    parent: str
    headcount: int
    members: int
    area: str
    gig: bool = False


OFFICE = ("JL-CC", "吉林省职工保险互助会长春办事处", "220100")
COUNTIES = (
    ("JL-CC-CY", "长春市朝阳区总工会", "220104"),
    ("JL-CC-NG", "长春市南关区总工会", "220102"),
)
UNITS = (
    # The clerk's unit: 120 on the books, all 120 covered this year (the plan asks every member
    # of a unit under 200), so next year's renewal workbook lists everyone.
    UnitSpec("JL-CC-CY-001", "一汽富维汽车零部件股份有限公司工会", "JL-CC-CY", 120, 120, "220104"),
    UnitSpec("JL-CC-CY-002", "长春市朝阳区人民医院工会", "JL-CC-CY", 260, 70, "220104"),
    UnitSpec("JL-CC-CY-003", "长春市第二实验中学工会", "JL-CC-CY", 48, 40, "220104"),
    UnitSpec("JL-CC-NG-001", "长春市南关区市场监督管理局工会", "JL-CC-NG", 36, 30, "220102"),
    UnitSpec("JL-CC-NG-002", "吉林省顺达物流有限公司联合工会", "JL-CC-NG", 80, 45, "220102", True),
    UnitSpec("JL-CC-NG-003", "长春公交集团南关分公司工会", "JL-CC-NG", 150, 40, "220102"),
)
USERS = (
    ("admin", "系统管理员", "", None, True),
    ("office", "赵敏（办事处业务）", User.Role.OFFICE_STAFF, OFFICE[0], True),
    ("planadmin", "钱立新（计划管理）", User.Role.PLAN_ADMIN, OFFICE[0], True),
    ("auditor", "孙雪梅（稽核）", User.Role.AUDITOR, OFFICE[0], False),
    ("county", "李建国（朝阳区总工会）", User.Role.COUNTY_STAFF, "JL-CC-CY", False),
    ("clerk", "王芳（一汽富维工会）", User.Role.CLERK, "JL-CC-CY-001", False),
    ("clerk2", "陈海燕（顺达物流工会）", User.Role.CLERK, "JL-CC-NG-002", False),
)
DEMO_PLAN = "jilin-allowance-2020"
# The demo office offers the catalog's plans of its own province, and no other.
DEMO_REGION = "吉林省"


def demo_load(today: datetime.date | None = None) -> dict[str, int]:
    """Create the demo data set; return how many of each thing exist afterwards."""
    today = today or datetime.date.today()
    rng = random.Random(20261124)  # noqa: S311 - demo names, not secrets
    with transaction.atomic():
        unions = _load_tree()
        _offer_plans(unions[OFFICE[0]])
        _load_users(unions)
        _load_bank_account(unions[OFFICE[0]])
        members = _load_members(unions, rng, today)
        _load_paid_roster(unions, members, today)
        _load_headcount_proposal(unions)
        _load_claims(unions, today)
    return {
        "unions": Union.objects.count(),
        "members": Member.objects.count(),
        "users": User.objects.count(),
        "enrollments": Enrollment.objects.count(),
    }


def _credit_code(seed: str, area: str) -> str:
    body = f"81{area}" + "".join(str((ord(c) * 7) % 10) for c in seed)[:9].ljust(9, "0")
    return body + credit_code_check_char(body)


def _upsert_union(code: str, name: str, level: str, parent: Union | None, **extra) -> Union:
    union = Union.objects.filter(code=code).first()
    if union is None:
        union = Union(code=code)
    union.name, union.level, union.parent = name, level, parent
    for key, value in extra.items():
        setattr(union, key, value)
    union.full_clean()
    union.save()
    return union


def _load_tree() -> dict[str, Union]:
    unions: dict[str, Union] = {}
    code, name, area = OFFICE
    unions[code] = _upsert_union(
        code,
        name,
        Union.Level.OFFICE,
        None,
        credit_code=_credit_code(code, area),
        contact_name="赵敏",
        contact_phone="0431-88886666",
    )
    for code, name, area in COUNTIES:
        unions[code] = _upsert_union(
            code,
            name,
            Union.Level.COUNTY,
            unions[OFFICE[0]],
            credit_code=_credit_code(code, area),
            contact_name="李建国",
            contact_phone="0431-85551234",
        )
    for spec in UNITS:
        unions[spec.code] = _upsert_union(
            spec.code,
            spec.name,
            Union.Level.GRASSROOTS,
            unions[spec.parent],
            headcount=spec.headcount,
            credit_code=_credit_code(spec.code, spec.area),
            contact_name="王芳" if spec.code.endswith("001") else "刘洋",
            contact_phone="13904310001",
        )
    return unions


def _offer_plans(office: Union) -> None:
    """The office's clerks are offered its province's plans only (recorded as a plan change)."""
    from plans.services import plan_set_offered_under

    for plan in Plan.objects.prefetch_related("offered_under"):
        others = [union for union in plan.offered_under.all() if union.pk != office.pk]
        wanted = [*others, office] if plan.region == DEMO_REGION else others
        plan_set_offered_under(plan=plan, user=None, unions=wanted)


# What each staff role may do in the Django admin; everything stays scoped to their node.
ADMIN_PERMISSIONS = {
    User.Role.OFFICE_STAFF: [
        "organisation.view_union",
        "organisation.change_union",
        "organisation.add_union",
        "organisation.view_member",
        "enrollment.view_roster",
        "enrollment.view_enrollment",
        "claims.view_claim",
        "plans.view_plan",
        "plans.view_planversion",
    ],
    User.Role.PLAN_ADMIN: [
        "plans.view_plan",
        "plans.add_plan",
        "plans.change_plan",
        "plans.view_planversion",
        "plans.add_planversion",
        "plans.change_planversion",
        # The State Council's holidays of next year, entered by the plan admin in November.
        "claims.view_holidayyear",
        "claims.add_holidayyear",
        "claims.change_holidayyear",
    ],
}


def _role_group(role: str) -> Group | None:
    codes = ADMIN_PERMISSIONS.get(role)
    if not codes:
        return None
    group, _created = Group.objects.get_or_create(name=f"role:{role}")
    perms = [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in (code.split(".") for code in codes)
    ]
    group.permissions.set(perms)
    return group


def _load_users(unions: dict[str, Union]) -> None:
    for username, full_name, role, union_code, is_staff in USERS:
        user = User.objects.filter(username=username).first() or User(username=username)
        user.full_name = full_name
        user.role = role
        user.union = unions[union_code] if union_code else None
        user.is_staff = is_staff or username == "admin"
        user.is_superuser = username == "admin"
        if not user.pk:
            user.set_password(DEMO_PASSWORD)
        user.full_clean(exclude=["password"])
        user.save()
        group = _role_group(role) if role else None
        if group is not None:
            user.groups.add(group)


def _luhn_complete(prefix: str) -> str:
    digits = [int(d) for d in prefix]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return prefix + str((10 - total % 10) % 10)


def _person(rng: random.Random, area: str, today: datetime.date) -> tuple[str, str]:
    age_days = rng.randint(20 * 365, 58 * 365)
    birth = today - datetime.timedelta(days=age_days)
    first17 = f"{area}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    return name, first17 + id_check_digit(first17)


def _load_members(
    unions: dict[str, Union], rng: random.Random, today: datetime.date
) -> dict[str, list[Member]]:
    by_unit: dict[str, list[Member]] = {}
    for spec in UNITS:
        people = []
        for index in range(spec.members):
            name, number = _person(rng, spec.area, today)
            if spec.gig:
                employment, occupation = (
                    "新就业形态劳动者",
                    rng.choice(["货车司机", "网约车司机", "快递员", "外卖员"]),
                )
            else:
                employment = rng.choices(["正式职工", "合同制职工", "临时职工"], [7, 2, 1])[0]
                occupation = ""
            people.append(
                member_upsert(
                    id_number=number,
                    name=name,
                    union=unions[spec.code],
                    employment_type=employment,
                    occupation=occupation,
                    phone=f"139{rng.randint(0, 99_999_999):08d}",
                    bank_card=_luhn_complete(f"622202{rng.randint(0, 10**12 - 1):012d}"),
                    medical_insurance=rng.random() > 0.05,
                    high_risk=spec.gig and index % 3 == 0,
                )
            )
        by_unit[spec.code] = people
    return by_unit


def _load_paid_roster(
    unions: dict[str, Union], members: dict[str, list[Member]], today: datetime.date
) -> None:
    """The clerk's unit holds this year's cover in the Jilin plan, paid and active."""
    plan = Plan.objects.filter(code=DEMO_PLAN).first()
    if plan is None:
        return
    start = datetime.date(today.year, 1, 1)
    version = version_in_force(plan, start)
    unit = unions[UNITS[0].code]
    if (
        version is None
        or Roster.objects.filter(union=unit, plan_version=version, coverage_start=start).exists()
    ):
        return
    rules = version.parsed_rules
    clerk = User.objects.get(username="clerk")
    eligible = [
        m for m in members[UNITS[0].code] if m.employment_type in rules.eligibility.employment_types
    ]
    fee = quantize_money(rules.fees.per_share)
    total = fee * len(eligible)
    amounts = funding_split(
        rules,
        FundingChoice(mode=None, percent={"unit": Decimal(60), "member": Decimal(40)}),
        fee_total=total,
        members=len(eligible),
    )
    roster = Roster.objects.create(
        union=unit,
        plan_version=version,
        coverage_start=start,
        coverage_end=coverage_end_for(start, rules.coverage_months),
        status=Roster.Status.PAID,
        original_name="2026年度参保名单.xlsx",
        funding={
            "mode": None,
            "percent": {"unit": "60", "member": "40"},
            "amounts": {k: str(v) for k, v in amounts.items()},
        },
        rows_total=len(eligible),
        rows_checked=len(eligible),
        rows_valid=len(eligible),
        fee_total=total,
        payment_amount=total,
        payment_date=start - datetime.timedelta(days=10),
        payment_reference="DEMO-2026-0001 DEMO-2026-0002",
        created_by=clerk,
    )
    # The money came as the unit's transfer and, separately, the subsidy giver's.
    office_staff = User.objects.get(username="office")
    for number, due in enumerate(roster_dues(roster), start=1):
        if due.amount:
            Receipt.objects.create(
                office=unions[OFFICE[0]],
                roster=roster,
                payer=due.payer,
                giver=due.giver,
                amount=due.amount,
                received_on=start - datetime.timedelta(days=10),
                reference=f"DEMO-2026-{number:04d}",
                recorded_by=office_staff,
            )
    for member in eligible:
        enrollment_add(
            member=member,
            plan_version=version,
            union=unit,
            coverage_start=start,
            shares=1,
            fee=fee,
            roster=roster,
            status=Enrollment.Status.ACTIVE,
        )


def _load_bank_account(office: Union) -> None:
    """The account the office receives fees on, printed on its fee notices."""
    OfficeBankAccount.objects.get_or_create(
        office=office,
        defaults={
            "account_name": OFFICE[1],
            "bank_name": "中国工商银行长春人民广场支行",
            "account_number": "4200 2012 0902 0088 888",
            "updated_by": User.objects.get(username="office"),
        },
    )


def _load_headcount_proposal(unions: dict[str, Union]) -> None:
    """The logistics unit's clerk has proposed a new headcount that the office has yet to
    confirm (shown on the unit's page)."""
    from organisation.headcount import headcount_propose, pending_proposal
    from organisation.models import HeadcountProposal

    unit = unions["JL-CC-NG-002"]
    if HeadcountProposal.objects.filter(union=unit).exists() or pending_proposal(unit):
        return
    headcount_propose(
        user=User.objects.get(username="clerk2"),
        union=unit,
        headcount=86,
        note="年内新招骑手6人，均已入会。",
    )


def _demo_pdf() -> bytes:
    """A blank one-page PDF: claim documents must be real PDFs (claims/uploads.py)."""
    from io import BytesIO

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _load_claims(unions: dict[str, Union], today: datetime.date) -> None:
    """A few claims in different states on the clerk's unit, so the claims pages have work."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from claims import services as claims
    from claims.models import Claim, Payout

    unit = unions[UNITS[0].code]
    if Claim.objects.filter(union=unit).exists():
        return
    active = list(
        Enrollment.objects.filter(union=unit, status=Enrollment.Status.ACTIVE)
        .select_related("member", "plan_version")
        .order_by("pk")[:3]
    )
    if len(active) < 3:
        return
    clerk = User.objects.get(username="clerk")
    office = User.objects.get(username="office")
    start = active[0].coverage_start
    stories = [
        (
            "hospital_allowance",
            start + datetime.timedelta(days=60),
            {
                "admission_date": (start + datetime.timedelta(days=60)).isoformat(),
                "discharge_date": (start + datetime.timedelta(days=72)).isoformat(),
                "hospital_name": "吉林大学第一医院",
                "hospital_locality": "local",
                "hospital_grade": 3,
            },
            True,
        ),
        (
            "critical_illness",
            start + datetime.timedelta(days=120),
            {
                "diagnosis_date": (start + datetime.timedelta(days=120)).isoformat(),
                "diagnosis": "急性心肌梗塞",
                "hospital_name": "长春市中心医院",
            },
            False,
        ),
        (
            "accident",
            start + datetime.timedelta(days=30),
            {
                "accident_date": (start + datetime.timedelta(days=30)).isoformat(),
                "outcome": "disability",
                "disability_grade": 8,
            },
            True,
        ),
    ]
    made = []
    for enrollment, (benefit, event, facts, complete) in zip(active, stories, strict=True):
        if event > today:
            continue
        claim = claims.claim_report(
            user=clerk,
            enrollment=enrollment,
            benefit=benefit,
            facts=facts,
            event_date=event,
            payee_name=enrollment.member.name,
            payee_account=enrollment.member.bank_card,
        )
        needed = claims.required_documents(claim)
        for code, _label in needed if complete else needed[:-1]:
            claims.claim_document_add(
                claim=claim,
                user=clerk,
                requirement=code,
                upload=SimpleUploadedFile(f"{code}.pdf", _demo_pdf()),
            )
        if complete:
            claims.claim_propose_run(claim_id=claim.pk)
        made.append(claim)
    accident = next((c for c in made if c.benefit == "accident"), None)
    if accident is not None:
        accident.refresh_from_db()
        if accident.proposal.get("decision") == "pay":
            claims.claim_decide(
                claim=accident,
                user=office,
                approve=True,
                amount=Decimal(accident.proposal["amount"]),
            )
            batch = claims.batch_create(user=office, payouts=Payout.objects.filter(claim=accident))
            claims.batch_mark_exported(batch=batch, user=office)
            claims.batch_confirm_paid(
                batch=batch,
                user=office,
                paid_on=timezone.localdate(),
                bank_reference=f"DEMO{batch.number}",
            )
