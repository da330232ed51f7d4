"""The union tree keeps a materialised path, so subtree queries are one prefix match."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from organisation.models import Union
from tests import factories


def test_paths_follow_the_tree(world):
    assert world.office.path == f"{world.office.pk:06d}/"
    assert world.unit_a.path == f"{world.office.path}{world.county_a.pk:06d}/{world.unit_a.pk:06d}/"
    assert world.unit_a.depth == 2
    assert [u.name for u in world.unit_a.ancestors()] == ["长春办事处", "朝阳区总工会"]


def test_subtree_is_one_query_however_deep(world):
    with CaptureQueriesContext(connection) as queries:
        names = set(world.office.subtree().values_list("name", flat=True))
    assert len(queries) == 1
    assert names == {
        "长春办事处",
        "朝阳区总工会",
        "南关区总工会",
        "甲单位工会",
        "乙单位工会",
        "丙单位工会",
    }


def test_moving_a_branch_rewrites_every_path_below(world):
    world.county_b.parent = world.other_office
    world.county_b.save()
    world.unit_b.refresh_from_db()
    assert world.unit_b.path.startswith(world.other_office.path)
    assert set(world.other_office.subtree()) >= {world.county_b, world.unit_b, world.unit_c}
    assert world.unit_b not in set(world.office.subtree())


def test_only_offices_are_roots_in_the_database(db):
    with pytest.raises(IntegrityError):
        Union.objects.create(code="X1", name="无上级单位", level=Union.Level.GRASSROOTS)


def test_levels_must_nest(world):
    bad = Union(
        code="X2", name="挂在单位下的县总工会", level=Union.Level.COUNTY, parent=world.unit_a
    )
    with pytest.raises(ValidationError) as err:
        bad.full_clean()
    assert "parent" in err.value.message_dict


def test_credit_code_is_validated(world):
    world.unit_a.credit_code = "91350100M000100Y43"
    world.unit_a.full_clean()
    world.unit_a.credit_code = "91350100M000100Y44"
    with pytest.raises(ValidationError) as err:
        world.unit_a.full_clean()
    assert "credit_code" in err.value.message_dict


def test_user_role_must_match_node_level(world):
    user = factories.UserFactory.build(role="clerk", union=world.county_a)
    with pytest.raises(ValidationError):
        user.full_clean(exclude=["password"])
    user.union = world.unit_a
    user.full_clean(exclude=["password"])
