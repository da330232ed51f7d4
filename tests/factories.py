"""Factories for test data. Every person gets a valid, unique ID number."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

import factory
from django.utils import timezone

from claims.models import Claim
from enrollment.models import Enrollment, Roster
from enrollment.services import coverage_end_for
from organisation.models import Member, Union, User
from plans.engine.identity import id_check_digit
from plans.models import Plan, PlanVersion

_serial = itertools.count(1)


def make_id_number(birth: datetime.date = datetime.date(1985, 6, 15), gender: str = "M") -> str:
    sequence = next(_serial) % 500 * 2 + (1 if gender == "M" else 0)
    first17 = f"220102{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_digit(first17)


class UnionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Union

    code = factory.Sequence(lambda n: f"U{n:05d}")
    name = factory.Sequence(lambda n: f"测试工会{n}")
    level = Union.Level.GRASSROOTS
    headcount = 100


def office(**kwargs) -> Union:
    return UnionFactory(level=Union.Level.OFFICE, parent=None, **kwargs)


def county(parent: Union, **kwargs) -> Union:
    return UnionFactory(level=Union.Level.COUNTY, parent=parent, **kwargs)


def unit(parent: Union, **kwargs) -> Union:
    return UnionFactory(level=Union.Level.GRASSROOTS, parent=parent, **kwargs)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

    @factory.post_generation
    def persist(self, create, extracted, **kwargs):
        if create:
            self.save()


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    name = factory.Sequence(lambda n: f"张{n}")
    id_number = factory.LazyFunction(make_id_number)
    birth_date = datetime.date(1985, 6, 15)
    gender = Member.Gender.MALE
    phone = "13912345678"
    bank_card = "6222021234567890128"
    employment_type = Member.EmploymentType.REGULAR
    medical_insurance = True


def catalog_version(code: str = "jilin-allowance-2020") -> PlanVersion:
    """The shipped version of a catalog plan, loading the catalog on first use."""
    from plans.services import plans_load_catalog

    if not Plan.objects.filter(code=code).exists():
        plans_load_catalog()
    return PlanVersion.objects.get(plan__code=code, number=1)


class RosterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Roster

    plan_version = factory.LazyFunction(catalog_version)
    coverage_start = datetime.date(2026, 1, 1)
    coverage_end = datetime.date(2026, 12, 31)
    status = Roster.Status.CHECKED
    created_by = factory.SubFactory(UserFactory)


def enroll(member: Member, version: PlanVersion | None = None, **kwargs) -> Enrollment:
    version = version or catalog_version()
    start = kwargs.pop("coverage_start", datetime.date(2026, 1, 1))
    return Enrollment.objects.create(
        member=member,
        plan=version.plan,
        plan_version=version,
        union=kwargs.pop("union", member.union),
        coverage_start=start,
        coverage_end=coverage_end_for(start, 12),
        shares=kwargs.pop("shares", 1),
        fee=kwargs.pop("fee", Decimal("110.00")),
        status=kwargs.pop("status", Enrollment.Status.ACTIVE),
        activated_at=timezone.now(),
        **kwargs,
    )


class ClaimFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Claim

    number = factory.Sequence(lambda n: f"LP2026{n:06d}")
    benefit = "hospital_allowance"
    event_date = datetime.date(2026, 3, 1)
    payee_name = factory.LazyAttribute(lambda o: o.enrollment.member.name)
    payee_account = "6222021234567890128"
    union = factory.LazyAttribute(lambda o: o.enrollment.union)
    reported_by = factory.SubFactory(UserFactory)


def pdf_document() -> bytes:
    """A real one-page PDF, as claim documents must be (claims/uploads.py parses them)."""
    from io import BytesIO

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def png_document(size: tuple[int, int] = (40, 30)) -> bytes:
    """A real PNG picture (claim documents are decoded and re-encoded)."""
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def approved_roster(
    union: Union,
    *,
    people: int = 80,
    code: str = "jilin-allowance-2020",
    percent: dict | None = None,
    mode: str | None = None,
    coverage_start: datetime.date = datetime.date(2026, 1, 1),
    **kwargs,
) -> Roster:
    """An approved roster of ``people`` at the plan's fee per share, its funding split as the
    checker stores it (jilin: 110 a head, 30 of it the provincial organs union's subsidy)."""
    from plans.engine.funding import FundingChoice, funding_split

    version = catalog_version(code)
    rules = version.parsed_rules
    percent = percent or {"unit": Decimal("60"), "member": Decimal("40")}
    fee_total = rules.fees.per_share * people
    amounts = funding_split(
        rules, FundingChoice(mode, percent), fee_total=fee_total, members=people
    )
    return RosterFactory(
        union=union,
        plan_version=version,
        status=Roster.Status.APPROVED,
        coverage_start=coverage_start,
        coverage_end=coverage_end_for(coverage_start, 12),
        fee_total=fee_total,
        rows_valid=people,
        funding={
            "mode": mode,
            "percent": {k: str(v) for k, v in percent.items()},
            "amounts": {k: str(v) for k, v in amounts.items()},
        },
        created_by=kwargs.pop("created_by", None) or UserFactory(),
        **kwargs,
    )
