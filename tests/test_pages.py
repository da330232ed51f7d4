"""Login, language and the home page of every demo role."""

import pytest
from django.urls import reverse

from demo.demo import DEMO_PASSWORD, USERS, demo_load
from organisation.models import Member
from plans.services import plans_load_catalog


@pytest.fixture
def demo(db):
    plans_load_catalog()
    demo_load()


def test_login_page_is_chinese_by_default(client):
    page = client.get(reverse("login")).content.decode()
    assert "登录" in page and 'lang="zh-hans"' in page


def test_language_switches_to_english_and_back(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    page = client.get(reverse("login")).content.decode()
    assert "Log in" in page and 'lang="en"' in page
    client.post(reverse("set_language"), {"language": "zh-hans"})
    assert "登录" in client.get(reverse("login")).content.decode()


def test_wrong_password_says_so_in_chinese_and_logs_nobody_in(client, demo):
    response = client.post(reverse("login"), {"username": "clerk", "password": "wrong"})
    assert response.status_code == 200
    assert "请输入一个正确的" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("admin", "系统管理员"),
        ("office", "吉林省职工保险互助会长春办事处"),
        ("planadmin", "吉林省职工保险互助会长春办事处"),
        ("auditor", "吉林省职工保险互助会长春办事处"),
        ("county", "长春市朝阳区总工会"),
        ("clerk", "一汽富维汽车零部件股份有限公司工会"),
        ("clerk2", "吉林省顺达物流有限公司联合工会"),
    ],
)
def test_every_demo_login_reaches_a_home_page_showing_its_scope(client, demo, username, expected):
    response = client.post(
        reverse("login"), {"username": username, "password": DEMO_PASSWORD}, follow=True
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("home")
    assert 'id="scope-title"' in page
    assert expected in page


def test_demo_has_one_user_per_role(demo):
    roles = {role for _, _, role, _, _ in USERS if role}
    assert roles == {"clerk", "county_staff", "office_staff", "plan_admin", "auditor"}


def test_demo_load_is_idempotent(demo):
    from claims.models import Claim

    before = Member.objects.count()
    claims = Claim.objects.count()
    assert claims == 3
    assert Claim.objects.filter(status="paid").count() == 1
    demo_load()
    assert Member.objects.count() == before
    assert Claim.objects.count() == claims
    assert 200 <= before <= 500


def test_id_and_bank_numbers_are_masked_on_pages(client, world):
    member = world.member_a
    client.force_login(world.office_staff)
    for url in (
        reverse("enrollment:member_list"),
        reverse("enrollment:member_detail", args=[member.pk]),
    ):
        page = client.get(url).content.decode()
        assert member.id_number not in page
        assert member.id_number_masked in page
        assert member.bank_card not in page
    detail = client.get(reverse("enrollment:member_detail", args=[member.pk])).content.decode()
    assert member.bank_card_masked in detail


def test_member_search_finds_a_whole_id_number_typed_in_full_width(client, world):
    client.force_login(world.office_staff)
    full_width = world.member_a.id_number.translate(
        {ord(str(d)): chr(0xFF10 + d) for d in range(10)}
    )
    url = reverse("enrollment:member_list")
    page = client.post(url, {"q": full_width}, follow=True).content.decode()
    assert "甲职工" in page and "乙职工" not in page


def test_static_assets_are_local(client, world):
    client.force_login(world.clerk_a)
    page = client.get(reverse("home")).content.decode()
    assert "/static/vendor/bootstrap/bootstrap.min.css" in page
    assert "/static/vendor/htmx/htmx.min.js" in page
    assert "http://" not in page.replace("http://testserver", "")
    assert "https://" not in page


def test_admin_never_shows_a_full_id_number(client, world):
    world.office_staff.is_staff = True
    world.office_staff.is_superuser = True
    world.office_staff.save()
    client.force_login(world.office_staff)
    url = reverse("admin:organisation_member_change", args=[world.member_a.pk])
    page = client.get(url).content.decode()
    assert world.member_a.id_number not in page
    assert world.member_a.id_number_masked in page


def test_chinese_stays_the_default_for_an_english_browser(client):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert 'lang="zh-hans"' in page and "登录" in page


@pytest.mark.parametrize(
    "code",
    [
        "jilin-allowance-2020",
        "linyi-accident-2019",
        "beijing-child-accident-2011",
        "beijing-nonwork-2011",
    ],
)
def test_plan_pages_show_the_rules(client, world, code):
    plans_load_catalog()
    client.force_login(world.clerk_a)
    listing = client.get(reverse("plans:plan_list")).content.decode()
    assert code in listing
    page = client.get(reverse("plans:plan_detail", args=[code]))
    assert page.status_code == 200
    assert code in page.content.decode()


def test_jilin_plan_page_states_its_numbers(client, world):
    plans_load_catalog()
    client.force_login(world.clerk_a)
    page = client.get(reverse("plans:plan_detail", args=["jilin-allowance-2020"])).content.decode()
    for number in ("110.00", "30.00", "4,500.00", "3,600.00", "9,000.00", "10,000.00", "40,000.00"):
        assert number in page


def test_office_staff_can_use_the_admin_within_their_scope(client, demo):
    client.post(reverse("login"), {"username": "office", "password": DEMO_PASSWORD})
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert client.get(reverse("admin:organisation_union_changelist")).status_code == 200
    assert client.get(reverse("admin:organisation_member_changelist")).status_code == 200
