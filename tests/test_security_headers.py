"""The Content Security Policy on every response, and pages that need nothing it forbids: no
inline script, no inline style, no event-handler attributes, no eval-dependent htmx."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from organisation.models import User
from tests import factories

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# <script> elements that hold data, not code, are allowed (the admin passes settings this way).
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


class _InlineCode(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        where = f"<{tag} id={values.get('id')!r}>"
        if "style" in values:
            self.found.append(f"{where} style=")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{where} {name}=")
            if name.startswith(("hx-on", "data-hx-on")):
                self.found.append(f"{where} {name}= (htmx eval)")
            if (value or "").strip().lower().startswith(("javascript:", "js:")):
                self.found.append(f"{where} {name}={value[:30]!r}")
        if tag == "style":
            self.found.append("<style> element")
        data = (values.get("type") or "").lower() in DATA_SCRIPT_TYPES
        if tag == "script" and not values.get("src") and not data:
            self.found.append(f"{where} inline script")


def inline_code(html: str) -> list[str]:
    """What in a page the Content Security Policy would block."""
    parser = _InlineCode()
    parser.feed(html)
    return parser.found


def test_the_finder_finds_what_the_policy_blocks():
    assert inline_code('<div style="width: 5%"></div>') == ["<div id=None> style="]
    assert inline_code("<script>alert(1)</script>") == ["<script id=None> inline script"]
    assert inline_code('<button onclick="x()">') == ["<button id=None> onclick="]
    assert inline_code('<a href="javascript:x()">')
    assert inline_code('<div hx-on:click="x()">')
    assert inline_code("<style>p {}</style>")
    assert not inline_code('<script src="/static/a.js"></script>')
    assert not inline_code('<script type="application/json" id="c">{"a": 1}</script>')


def test_every_response_carries_the_policy(client, world):
    assert client.get(reverse("login"))["Content-Security-Policy"] == POLICY
    client.force_login(world.office_staff)
    for url in (reverse("home"), reverse("admin:login"), "/no-such-page/"):
        assert client.get(url)["Content-Security-Policy"] == POLICY, url
    assert "unsafe" not in POLICY


def test_policy_setting_allows_nothing_inline_or_evaluated():
    for directive, values in settings.SECURE_CSP.items():
        for value in values:
            assert "unsafe" not in value, (directive, value)


def test_htmx_is_configured_not_to_eval_or_inject_styles(client, world):
    client.force_login(world.clerk_a)
    page = client.get(reverse("home")).content.decode()
    assert '<meta name="htmx-config"' in page
    assert '"allowEval": false' in page and '"includeIndicatorStyles": false' in page


@pytest.fixture
def staff(world):
    return factories.UserFactory(
        role=User.Role.OFFICE_STAFF, union=world.office, is_staff=True, is_superuser=True
    )


def test_login_admin_and_error_pages_have_no_inline_code(client, world, staff):
    pages = {"login": client.get(reverse("login"))}
    anonymous_admin = Client().get(reverse("admin:login"))
    pages["admin login"] = anonymous_admin
    client.force_login(staff)
    for name in (
        "admin:index",
        "admin:organisation_member_changelist",
        "admin:organisation_union_changelist",
        "admin:organisation_user_add",
        "admin:plans_plan_changelist",
        "admin:axes_accessattempt_changelist",
    ):
        pages[name] = client.get(reverse(name))
    pages["admin member change"] = client.get(
        reverse("admin:organisation_member_change", args=[world.member_a.pk])
    )
    pages["admin union change"] = client.get(
        reverse("admin:organisation_union_change", args=[world.unit_a.pk])
    )
    pages["404"] = client.get("/no-such-page/")
    for name, response in pages.items():
        assert response.status_code in (200, 404), name
        assert not inline_code(response.content.decode()), (
            name,
            inline_code(response.content.decode()),
        )
    for template in ("403.html", "404.html", "500.html"):
        html = render_to_string(template, {"request": None})
        assert not inline_code(html), template


def test_progress_bar_and_tree_indent_use_classes(client, world):
    roster = factories.RosterFactory(
        union=world.unit_a,
        created_by=world.clerk_a,
        status="checking",
        rows_total=8,
        rows_checked=3,
    )
    client.force_login(world.clerk_a)
    html = client.get(reverse("enrollment:roster_progress", args=[roster.pk])).content.decode()
    assert "w-pct-38" in html and not inline_code(html)
    client.force_login(world.office_staff)
    html = client.get(reverse("enrollment:union_list")).content.decode()
    assert "tree-indent depth-2" in html and not inline_code(html)
    css = (settings.BASE_DIR / "static" / "css" / "portal.css").read_text()
    for n in range(101):
        assert f".w-pct-{n} {{ width: {n}%; }}" in css
    for depth in range(4):  # office, city, county, grassroots
        assert f".tree-indent.depth-{depth} " in css
