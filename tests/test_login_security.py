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


def test_settings_lock_out_by_username_and_address():
    assert settings.AXES_ENABLED
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 30 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_RESET_ON_SUCCESS


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


def test_behind_the_proxy_the_address_is_the_one_the_proxy_appended(rf, settings):
    from mutualaid.security import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    settings.SECURE_PROXY_SSL_HEADER = None
    assert client_ip(request) == "10.0.0.1"  # no proxy: the header is the client's to invent
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client_ip(request) == "203.0.113.9"
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.1")) == "10.0.0.1"


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
