"""The portal's own middleware: the language of the pages, and logging out idle sessions.

Language: Django's LocaleMiddleware would follow the browser's Accept-Language header, so a clerk
on a computer set up in English would land on English pages. The portal is Chinese first; only the
language cookie that the switch sets changes that.
"""

import time
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

SUPPORTED = {code for code, _name in settings.LANGUAGES}


class PortalLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in SUPPORTED else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ("Cookie",))
        translation.deactivate()
        return response


LAST_ACTIVITY = "portal_last_activity"
# The time of the last request is written to the session at most this often (seconds), so a busy
# user does not cost a session write on every page.
ACTIVITY_WRITE_INTERVAL = 60


class IdleTimeoutMiddleware:
    """Log out a session that has made no request for SESSION_IDLE_TIMEOUT.

    A computer left logged in at a union's front desk should not stay open to the next person.
    The time of the last request is kept in the session (written at most once a minute); a
    request after a longer pause logs the user out and sends them to the login page with a
    message, and back to the page after login.
    htmx polling (a progress bar refreshing itself) is not activity: an open page must not keep a
    session alive on its own. When a poll finds the session expired, htmx is told to load the
    login page instead of swapping it into the page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        now = int(time.time())
        last = request.session.get(LAST_ACTIVITY)
        is_poll = request.headers.get("HX-Request") == "true"
        timeout = settings.SESSION_IDLE_TIMEOUT.total_seconds()
        if last is not None and now - last > timeout:
            return self._expired(request, is_poll)
        if last is None:
            # The first request of a login. Writing the activity time saves the session, which
            # would push its expiry SESSION_COOKIE_AGE further each time; a fixed date keeps the
            # login to SESSION_COOKIE_AGE from now, however busy it is.
            request.session.set_expiry(
                timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
            )
        if last is None or (not is_poll and now - last >= ACTIVITY_WRITE_INTERVAL):
            request.session[LAST_ACTIVITY] = now
        return self.get_response(request)

    def _expired(self, request: HttpRequest, is_poll: bool) -> HttpResponse:
        logout(request)
        minutes = int(settings.SESSION_IDLE_TIMEOUT.total_seconds() // 60)
        messages.warning(
            request,
            _(
                "You were logged out after %(minutes)s minutes without activity. "
                "Log in again to continue."
            )
            % {"minutes": minutes},
        )
        if is_poll:
            # Back to the page the poll came from (htmx sends its full URL), after logging in.
            page = urlsplit(request.headers.get("HX-Current-URL", ""))
            next_url = page.path + (f"?{page.query}" if page.query else "")
            response = HttpResponse()
            response["HX-Redirect"] = _login_url(next_url)
            return response
        # A form posted after the pause is not replayed; a page asked for is shown after login.
        return redirect(_login_url(request.get_full_path() if request.method == "GET" else ""))


def _login_url(next_url: str) -> str:
    if not next_url.startswith("/"):
        next_url = resolve_url(settings.LOGIN_REDIRECT_URL)
    return redirect_to_login(next_url)["Location"]


# --- requests no page can use --------------------------------------------------------------------

NUL = "\x00"


def _holds_nul(request: HttpRequest) -> bool:
    """Whether the path, a query parameter, a form field, an uploaded file's name or the browser's
    name holds a NUL character."""
    if NUL in request.path_info or NUL in request.META.get("HTTP_USER_AGENT", ""):
        return True
    for data in (request.GET, request.POST) if request.method == "POST" else (request.GET,):
        for key, values in data.lists():
            if NUL in key or any(NUL in value for value in values):
                return True
    if request.method == "POST":
        for key, files in request.FILES.lists():
            if NUL in key or any(NUL in (upload.name or "") for upload in files):
                return True
    return False


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 400 page, in the user's language (also Django's handler400: malformed requests,
    too many form fields)."""
    from django.shortcuts import render

    return render(request, "400.html", status=400)


class RefuseNulMiddleware:
    """Answer 400 to a request that carries a NUL character anywhere a view would read it.

    No field of the portal takes one, and PostgreSQL refuses it in text: a NUL typed into a
    search box (``/members/?q=%00``) or a form would otherwise end in a server error wherever
    the value reaches a query. Checked just before the view, after the CSRF and login checks.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if _holds_nul(request):
            return bad_request(request)
        return None
