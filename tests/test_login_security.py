"""Logging in and staying logged in: lockout after repeated wrong passwords (django-axes) and
logout after a pause (mutualaid.middleware.IdleTimeoutMiddleware)."""

from __future__ import annotations

import time

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mutualaid.middleware import ACTIVITY_WRITE_INTERVAL, LAST_ACTIVITY

PASSWORD = "pw-for-tests"  # tests.factories.UserFactory's password


def attempt(client: Client, user, password: str):
    return client.post(reverse("login"), {"username": user.username, "password": password})


def logged_in(client: Client) -> bool:
    return SESSION_KEY in client.session


# --- lockout -------------------------------------------------------------------------------------


def test_settings_lock_out_by_pair_account_and_address():
    assert settings.AXES_ENABLED
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_ACCOUNT_FAILURE_LIMIT == 10
    assert settings.AXES_ADDRESS_FAILURE_LIMIT == 30
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 30 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [
        ["username", "ip_address"],
        ["username"],
        ["ip_address"],
    ]
    assert settings.AXES_HANDLER == "mutualaid.security.LoginLimitsHandler"
    assert settings.AXES_RESET_ON_SUCCESS
    assert settings.TRUSTED_PROXIES == []


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, world):
    for _ in range(4):
        response = attempt(client, world.clerk_a, "wrong-password")
        assert response.status_code == 200 and not logged_in(client)
    fifth = attempt(client, world.clerk_a, "wrong-password")
    assert fifth.status_code == 429

    response = attempt(client, world.clerk_a, PASSWORD)
    assert response.status_code == 429
    assert not logged_in(client)
    assert 'id="lockout"' in response.content.decode()
    assert "30" in response.content.decode()  # minutes until the next try
    assert response["Content-Security-Policy"]

    # Another user from the same computer, and the same user from another, are not affected.
    other = Client()
    assert attempt(other, world.clerk_b, PASSWORD).status_code == 302 and logged_in(other)
    elsewhere = Client(REMOTE_ADDR="10.9.8.7")
    assert attempt(elsewhere, world.clerk_a, PASSWORD).status_code == 302
    assert logged_in(elsewhere)


def test_the_lockout_ends_after_the_cool_off(client, world):
    for _ in range(5):
        attempt(client, world.clerk_a, "wrong-password")
    assert attempt(client, world.clerk_a, PASSWORD).status_code == 429
    past = timezone.now() - settings.AXES_COOLOFF_TIME - timezone.timedelta(minutes=1)
    AccessAttempt.objects.update(attempt_time=past)
    assert attempt(client, world.clerk_a, PASSWORD).status_code == 302
    assert logged_in(client)


def test_a_successful_login_clears_the_count(client, world):
    for _ in range(4):
        attempt(client, world.clerk_a, "wrong-password")
    assert attempt(client, world.clerk_a, PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        assert attempt(client, world.clerk_a, "wrong-password").status_code == 200
    assert attempt(client, world.clerk_a, PASSWORD).status_code == 302


PROXY = "10.0.0.1"
SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(rf, settings):
    from mutualaid.security import client_ip

    settings.SECURE_PROXY_SSL_HEADER = SSL_HEADER
    forwarded = "1.2.3.4, 203.0.113.9"
    request = rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    settings.TRUSTED_PROXIES = []
    assert client_ip(request) == PROXY  # nobody trusted: the header is anyone's to invent
    settings.TRUSTED_PROXIES = ["10.0.0.1/32"]
    # The entry the proxy appended (the right-most); the one left of it is the client's claim.
    assert client_ip(request) == "203.0.113.9"
    assert client_ip(rf.get("/", REMOTE_ADDR=PROXY)) == PROXY
    # The same header from a peer that is not a trusted proxy changes nothing.
    direct = rf.get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(direct) == "198.51.100.7"


def test_through_a_chain_of_trusted_proxies_the_rightmost_untrusted_hop_is_the_client(rf, settings):
    from mutualaid.security import client_ip

    settings.TRUSTED_PROXIES = ["10.0.0.0/24", "fd00::/64"]

    def seen(remote: str, forwarded: str) -> str:
        return client_ip(rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded))

    assert seen("10.0.0.2", "6.6.6.6, 203.0.113.9, 10.0.0.3") == "203.0.113.9"
    assert seen("fd00::1", "2001:db8::7, fd00::2") == "2001:db8::7"
    assert seen("::ffff:10.0.0.2", "::ffff:203.0.113.9") == "203.0.113.9"
    # Something no proxy writes: the last hop a trusted proxy vouched for stands.
    assert seen("10.0.0.2", "203.0.113.9, not-an-address, 10.0.0.3") == "10.0.0.3"
    assert seen("10.0.0.2", "") == "10.0.0.2"
    assert seen("not-an-address", "203.0.113.9") == ""


def _proxied(forwarded: str) -> Client:
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)


def test_rotating_x_forwarded_for_from_an_untrusted_peer_does_not_escape_the_lockout(
    world, settings
):
    """The reported bypass: behind SECURE_PROXY_SSL_HEADER, a new X-Forwarded-For on every try.
    From a peer that is not a trusted proxy the header is ignored: the fifth wrong password
    locks the username at the peer's own address, and the right one is refused after it."""
    settings.SECURE_PROXY_SSL_HEADER = SSL_HEADER
    settings.TRUSTED_PROXIES = ["10.0.0.1/32"]
    statuses = []
    for i in range(5):
        client = Client(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"203.0.113.{i + 1}")
        statuses.append(attempt(client, world.clerk_a, "wrong-password").status_code)
    assert statuses == [200, 200, 200, 200, 429]
    last = Client(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert attempt(last, world.clerk_a, PASSWORD).status_code == 429
    assert not logged_in(last)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}


def test_through_the_trusted_proxy_many_addresses_still_lock_the_account(world, settings):
    """The same attack through the real proxy, each try from a new client address: after
    AXES_ACCOUNT_FAILURE_LIMIT (10) wrong passwords the account is locked from everywhere, so
    the 40 guesses of the report never happen and the right password is refused."""
    settings.SECURE_PROXY_SSL_HEADER = SSL_HEADER
    settings.TRUSTED_PROXIES = ["10.0.0.1/32"]
    statuses = [
        attempt(_proxied(f"6.6.6.6, 203.0.113.{i + 1}"), world.clerk_a, "wrong").status_code
        for i in range(12)
    ]
    assert statuses == [200] * 9 + [429] * 3
    # Each try was counted against the address the proxy saw, not the invented one.
    addresses = set(AccessAttempt.objects.values_list("ip_address", flat=True))
    assert addresses == {f"203.0.113.{i + 1}" for i in range(12)}
    fresh = _proxied("203.0.113.200")
    assert attempt(fresh, world.clerk_a, PASSWORD).status_code == 429
    assert not logged_in(fresh)
    # Another account, through the same proxy, is not affected.
    other = _proxied("203.0.113.1")
    assert attempt(other, world.clerk_b, PASSWORD).status_code == 302 and logged_in(other)


def test_an_account_is_locked_after_ten_failures_from_different_addresses(world):
    for i in range(9):
        client = Client(REMOTE_ADDR=f"192.0.2.{i + 1}")
        assert attempt(client, world.clerk_a, "wrong-password").status_code == 200
    tenth = Client(REMOTE_ADDR="192.0.2.100")
    assert attempt(tenth, world.clerk_a, "wrong-password").status_code == 429
    # From an address never used before: locked too, right password or not.
    fresh = Client(REMOTE_ADDR="192.0.2.200")
    response = attempt(fresh, world.clerk_a, PASSWORD)
    assert response.status_code == 429 and 'id="lockout"' in response.content.decode()
    assert not logged_in(fresh)
    # Once the cool-off has passed, the account opens again.
    past = timezone.now() - settings.AXES_COOLOFF_TIME - timezone.timedelta(minutes=1)
    AccessAttempt.objects.update(attempt_time=past)
    assert attempt(fresh, world.clerk_a, PASSWORD).status_code == 302


def test_an_address_is_locked_after_thirty_failures_across_usernames(world):
    """Password spraying: one guess for each of many usernames from one address. The limit is
    higher than an account's, for a union office whose clerks share one NAT address."""
    office = Client(REMOTE_ADDR="198.51.100.20")
    for i in range(29):
        response = office.post(reverse("login"), {"username": f"guess{i}", "password": "x"})
        assert response.status_code == 200, i
    # A successful sign-in of someone else from the address does not clear its count.
    colleague = Client(REMOTE_ADDR="198.51.100.20")
    assert attempt(colleague, world.clerk_b, PASSWORD).status_code == 302
    thirtieth = office.post(reverse("login"), {"username": "guess29", "password": "x"})
    assert thirtieth.status_code == 429
    # Now every account is refused from that address, right password or not...
    late = Client(REMOTE_ADDR="198.51.100.20")
    assert attempt(late, world.clerk_a, PASSWORD).status_code == 429
    assert not logged_in(late)
    # ...and not from another.
    home = Client(REMOTE_ADDR="198.51.100.21")
    assert attempt(home, world.clerk_a, PASSWORD).status_code == 302


def test_a_very_long_username_is_counted_not_a_server_error(client, world):
    response = client.post(reverse("login"), {"username": "a" * 10_000, "password": "x"})
    assert response.status_code == 200
    assert AccessAttempt.objects.get().username == "a" * 150


# --- idle timeout --------------------------------------------------------------------------------


def _idle(client: Client, seconds: float) -> None:
    """Pretend the last request was `seconds` ago."""
    session = client.session
    session[LAST_ACTIVITY] = int(time.time() - seconds)
    session.save()


@pytest.fixture
def clerk(client, world):
    client.force_login(world.clerk_a)
    assert client.get(reverse("home")).status_code == 200
    return client


def test_a_session_idle_longer_than_the_timeout_is_logged_out(clerk):
    assert settings.SESSION_IDLE_TIMEOUT.total_seconds() == 30 * 60
    _idle(clerk, 31 * 60)
    url = reverse("enrollment:member_list") + "?q=甲"
    response = clerk.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
    assert not logged_in(clerk)
    page = clerk.get(response["Location"])
    assert page.status_code == 200
    assert "30" in "".join(str(m) for m in page.context["messages"])


def test_activity_within_the_timeout_keeps_the_session(clerk):
    _idle(clerk, 29 * 60)
    assert clerk.get(reverse("home")).status_code == 200
    assert logged_in(clerk)
    assert time.time() - clerk.session[LAST_ACTIVITY] < 5  # the clock was reset


def test_the_activity_time_is_written_at_most_once_a_minute(clerk):
    _idle(clerk, ACTIVITY_WRITE_INTERVAL - 20)
    before = clerk.session[LAST_ACTIVITY]
    clerk.get(reverse("home"))
    assert clerk.session[LAST_ACTIVITY] == before


def test_a_form_posted_after_the_pause_is_not_carried_out(clerk, world):
    _idle(clerk, 31 * 60)
    response = clerk.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=" + reverse("home")


def test_htmx_polling_does_not_count_as_activity_and_is_sent_to_the_login_page(clerk):
    _idle(clerk, 10 * 60)
    before = clerk.session[LAST_ACTIVITY]
    poll = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/rosters/?page=2"}
    assert clerk.get(reverse("home"), **poll).status_code == 200
    assert clerk.session[LAST_ACTIVITY] == before

    _idle(clerk, 31 * 60)
    response = clerk.get(reverse("home"), **poll)
    assert response.status_code == 200 and not response.content
    assert response["HX-Redirect"] == reverse("login") + "?next=/rosters/%3Fpage%3D2"
    assert not logged_in(clerk)


def test_a_login_still_ends_after_session_cookie_age_however_busy(clerk):
    """Writing the activity time must not make the login's fixed length a sliding one."""
    ends = clerk.session.get_expiry_date()
    age = (ends - timezone.now()).total_seconds()
    assert settings.SESSION_COOKIE_AGE - 60 < age <= settings.SESSION_COOKIE_AGE
    _idle(clerk, 5 * 60)
    clerk.get(reverse("home"))  # writes the activity time again
    assert time.time() - clerk.session[LAST_ACTIVITY] < 5
    assert clerk.session.get_expiry_date() == ends
