"""Shared fixtures: a small union tree with one person of each role (the personas every view
test uses), built fresh for each test."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from organisation.models import Member, Union, User
from tests import factories


@dataclass
class World:
    office: Union
    other_office: Union
    county_a: Union
    county_b: Union
    unit_a: Union
    unit_b: Union
    unit_c: Union
    other_unit: Union
    clerk_a: User
    clerk_b: User
    county_staff_a: User
    office_staff: User
    plan_admin: User
    auditor: User
    other_office_staff: User
    member_a: Member
    member_b: Member
    member_c: Member
    other_member: Member


@pytest.fixture
def world(db) -> World:
    """Office → counties A and B → units A (under A), B and C (under B); plus a second office."""
    office = factories.office(name="长春办事处")
    other_office = factories.office(name="吉林办事处")
    county_a = factories.county(office, name="朝阳区总工会")
    county_b = factories.county(office, name="南关区总工会")
    unit_a = factories.unit(county_a, name="甲单位工会")
    unit_b = factories.unit(county_b, name="乙单位工会")
    unit_c = factories.unit(county_b, name="丙单位工会")
    other_unit = factories.unit(factories.county(other_office), name="外办事处单位工会")

    def user(role: str, union: Union) -> User:
        return factories.UserFactory(role=role, union=union)

    return World(
        office=office,
        other_office=other_office,
        county_a=county_a,
        county_b=county_b,
        unit_a=unit_a,
        unit_b=unit_b,
        unit_c=unit_c,
        other_unit=other_unit,
        clerk_a=user(User.Role.CLERK, unit_a),
        clerk_b=user(User.Role.CLERK, unit_b),
        county_staff_a=user(User.Role.COUNTY_STAFF, county_a),
        office_staff=user(User.Role.OFFICE_STAFF, office),
        plan_admin=user(User.Role.PLAN_ADMIN, office),
        auditor=user(User.Role.AUDITOR, office),
        other_office_staff=user(User.Role.OFFICE_STAFF, other_office),
        member_a=factories.MemberFactory(union=unit_a, name="甲职工"),
        member_b=factories.MemberFactory(union=unit_b, name="乙职工"),
        member_c=factories.MemberFactory(union=unit_c, name="丙职工"),
        other_member=factories.MemberFactory(union=other_unit, name="外职工"),
    )


@pytest.fixture
def covered(world, django_capture_on_commit_callbacks):
    """Member A holds active 2026 cover in jilin-allowance-2020."""
    version = factories.catalog_version()
    enrollment = factories.enroll(world.member_a, version)

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return enrollment, run
