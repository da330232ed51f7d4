"""Who sees what: every role sees its node of the union tree and below, and nothing else."""

import pytest
from django.urls import reverse

from organisation.selectors import visible_members, visible_units
from tests import factories


@pytest.fixture
def objects(world):
    """A roster, an enrollment and a claim in each of unit A, unit B and the other office."""
    made = {}
    for key, member in (
        ("a", world.member_a),
        ("b", world.member_b),
        ("other", world.other_member),
    ):
        roster = factories.RosterFactory(union=member.union, created_by=world.office_staff)
        enrollment = factories.enroll(member, roster=roster)
        claim = factories.ClaimFactory(enrollment=enrollment, reported_by=world.office_staff)
        made[key] = {"member": member, "roster": roster, "claim": claim, "union": member.union}
    return made


def urls_of(obj):
    return {
        "member": reverse("enrollment:member_detail", args=[obj["member"].pk]),
        "roster": reverse("enrollment:roster_detail", args=[obj["roster"].pk]),
        "claim": reverse("claims:claim_detail", args=[obj["claim"].pk]),
        "union": reverse("enrollment:union_detail", args=[obj["union"].pk]),
    }


@pytest.mark.parametrize("kind", ["member", "roster", "claim", "union"])
def test_clerk_gets_404_on_another_unions_objects(client, world, objects, kind):
    client.force_login(world.clerk_a)
    assert client.get(urls_of(objects["a"])[kind]).status_code == 200
    assert client.get(urls_of(objects["b"])[kind]).status_code == 404
    assert client.get(urls_of(objects["other"])[kind]).status_code == 404


@pytest.mark.parametrize("kind", ["member", "roster", "claim", "union"])
def test_county_staff_see_their_units_and_no_others(client, world, objects, kind):
    client.force_login(world.county_staff_a)
    assert client.get(urls_of(objects["a"])[kind]).status_code == 200
    assert client.get(urls_of(objects["b"])[kind]).status_code == 404
    assert client.get(urls_of(objects["other"])[kind]).status_code == 404


@pytest.mark.parametrize("kind", ["member", "roster", "claim", "union"])
@pytest.mark.parametrize("persona", ["office_staff", "plan_admin", "auditor"])
def test_office_users_see_their_office_and_not_another(client, world, objects, kind, persona):
    client.force_login(getattr(world, persona))
    assert client.get(urls_of(objects["a"])[kind]).status_code == 200
    assert client.get(urls_of(objects["b"])[kind]).status_code == 200
    assert client.get(urls_of(objects["other"])[kind]).status_code == 404


def test_lists_hold_only_what_is_in_scope(client, world, objects):
    client.force_login(world.county_staff_a)
    members = client.get(reverse("enrollment:member_list")).content.decode()
    assert "甲职工" in members and "乙职工" not in members and "外职工" not in members
    unions = client.get(reverse("enrollment:union_list")).content.decode()
    assert "甲单位工会" in unions and "乙单位工会" not in unions and "长春办事处" not in unions
    claims = client.get(reverse("claims:claim_list")).content.decode()
    assert objects["a"]["claim"].number in claims
    assert objects["b"]["claim"].number not in claims


def test_scope_selectors_match_the_tree(world):
    assert set(visible_units(world.clerk_a)) == {world.unit_a}
    assert set(visible_units(world.county_staff_a)) == {world.unit_a}
    assert set(visible_units(world.office_staff)) == {
        world.unit_a,
        world.unit_b,
        world.unit_c,
    }
    assert set(visible_members(world.other_office_staff)) == {world.other_member}


def test_user_without_a_node_sees_nothing_unless_superuser(world):
    nobody = factories.UserFactory(role="", union=None)
    assert visible_members(nobody).count() == 0
    root = factories.UserFactory(role="", union=None, is_superuser=True)
    assert visible_members(root).count() == 4


def test_admin_lists_are_scoped_too(client, world, objects):
    world.county_staff_a.is_staff = True
    world.county_staff_a.is_superuser = True  # every model permission, but still one county
    world.county_staff_a.save()
    client.force_login(world.county_staff_a)
    page = client.get(reverse("admin:organisation_member_changelist")).content.decode()
    assert "甲职工" in page and "乙职工" not in page


@pytest.mark.parametrize(
    "name",
    [
        "enrollment:member_list",
        "enrollment:roster_list",
        "enrollment:union_list",
        "claims:claim_list",
        "home",
        "plans:plan_list",
    ],
)
def test_pages_need_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ["enrollment:union_list", "claims:claim_list", "home"])
def test_read_pages_refuse_post(client, world, name):
    client.force_login(world.office_staff)
    assert client.post(reverse(name)).status_code == 405


def test_non_numeric_ids_are_404(client, world):
    client.force_login(world.office_staff)
    assert client.get("/members/abc/").status_code == 404
