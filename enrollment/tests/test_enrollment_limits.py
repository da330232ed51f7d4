"""A person never holds more shares of one plan in one period than the plan allows."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from enrollment.models import Enrollment, ShareHolding
from enrollment.services import AlreadyEnrolled, enrollment_add, enrollment_cancel
from tests.factories import catalog_version

START = datetime.date(2026, 1, 1)


def add(member, version, union, shares=1):
    return enrollment_add(
        member=member,
        plan_version=version,
        union=union,
        coverage_start=START,
        shares=shares,
        fee=Decimal("110.00"),
    )


def test_second_enrollment_through_another_union_is_refused(world):
    version = catalog_version("jilin-allowance-2020")
    add(world.member_a, version, world.unit_a)
    with pytest.raises(AlreadyEnrolled) as err:
        add(world.member_a, version, world.unit_b)
    assert (err.value.held, err.value.limit) == (1, 1)
    assert Enrollment.objects.filter(member=world.member_a).count() == 1


def test_shares_may_be_split_up_to_the_limit(world):
    version = catalog_version("linyi-accident-2019")  # at most 4 shares
    add(world.member_a, version, world.unit_a, shares=3)
    add(world.member_a, version, world.unit_b, shares=1)
    with pytest.raises(AlreadyEnrolled):
        add(world.member_a, version, world.unit_c, shares=1)
    assert ShareHolding.objects.get(member=world.member_a).shares == 4


def test_the_database_itself_refuses_a_holding_beyond_the_limit(world):
    version = catalog_version("jilin-allowance-2020")
    add(world.member_a, version, world.unit_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        ShareHolding.objects.filter(member=world.member_a).update(shares=2)


def test_next_period_is_a_new_holding(world):
    version = catalog_version("jilin-allowance-2020")
    add(world.member_a, version, world.unit_a)
    enrollment_add(
        member=world.member_a,
        plan_version=version,
        union=world.unit_a,
        coverage_start=datetime.date(2027, 1, 1),
        shares=1,
        fee=Decimal("110.00"),
    )
    assert ShareHolding.objects.filter(member=world.member_a).count() == 2


def test_cancelling_gives_the_shares_back(world):
    version = catalog_version("jilin-allowance-2020")
    enrollment = add(world.member_a, version, world.unit_a)
    enrollment_cancel(enrollment=enrollment)
    add(world.member_a, version, world.unit_b)
    assert ShareHolding.objects.get(member=world.member_a).shares == 1


def test_coverage_period_is_one_year_less_a_day(world):
    enrollment = add(world.member_a, catalog_version(), world.unit_a)
    assert enrollment.coverage_end == datetime.date(2026, 12, 31)
