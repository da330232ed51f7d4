"""Hooks for django-axes: whose address a sign-in comes from, the limits on failed sign-ins, and
the lockout page.

Three limits hold at once over AXES_COOLOFF_TIME (see the README's *Configuration*):

* AXES_FAILURE_LIMIT wrong passwords for one username from one address lock that pair;
* AXES_ACCOUNT_FAILURE_LIMIT for one username from any addresses lock the account everywhere, so
  an attacker who changes address (or X-Forwarded-For) gains nothing;
* AXES_ADDRESS_FAILURE_LIMIT from one address for any usernames lock that address, so guessing
  one password across many accounts stops too. It is the highest, because a union's office
  behind one NAT address has many people mistyping.
"""

from __future__ import annotations

import functools
import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@functools.lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted)


def _is_trusted_proxy(address: Address) -> bool:
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))
    return any(address.version == network.version and address in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """The address of whoever sent the request: what failed sign-ins are counted against and what
    the audit log records.

    It is the connection's address (REMOTE_ADDR), unless that is one of TRUSTED_PROXIES. Then
    X-Forwarded-For is read from the right: each proxy appended the address it got the request
    from, so the first entry from the right that is not itself a trusted proxy is the client.
    Entries to its left came from the client and could be anything, and a header sent by anyone
    but a trusted proxy is ignored: rotating it changes nothing. "" when there is no address.
    """
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    if remote is None:
        return ""
    client = remote
    if _is_trusted_proxy(remote):
        hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                break  # not what a proxy writes: keep the last hop a trusted proxy vouched for
            client = address
            if not _is_trusted_proxy(address):
                break
    return str(client)


def login_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The username a sign-in attempt is counted under: as typed, cut to the longest a username
    can be (150), so that a 10,000-character guess is counted like any other instead of failing
    to be stored."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        username = credentials.get(field)
    else:
        username = getattr(request, "data", request.POST).get(field)
    if username is None:
        return None
    return str(username)[:150]


def _group_limit(group) -> int:
    """The failures that lock a group of AXES_LOCKOUT_PARAMETERS."""
    names = frozenset([group] if isinstance(group, str) else group)
    if names == {"username"}:
        return settings.AXES_ACCOUNT_FAILURE_LIMIT
    if names == {"ip_address"}:
        return settings.AXES_ADDRESS_FAILURE_LIMIT
    return settings.AXES_FAILURE_LIMIT


class LoginLimitsHandler(AxesDatabaseHandler):
    """django-axes' database handler with a limit of its own for each lockout group.

    Axes compares the worst group's count with one AXES_FAILURE_LIMIT; here each group's count is
    scaled to that limit by the group's own (10 failures against an account limit of 10 count as
    AXES_FAILURE_LIMIT), so each group locks at its own number.
    """

    def get_failures(self, request, credentials: dict | None = None) -> int:
        base = settings.AXES_FAILURE_LIMIT
        groups = settings.AXES_LOCKOUT_PARAMETERS
        worst = 0
        for group, attempts in zip(
            groups, self.get_user_attempts(request, credentials), strict=True
        ):
            failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            worst = max(worst, failures * base // _group_limit(group))
        return worst

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        """A successful sign-in clears that username's failures from that address only: the
        failures of others from the address, and of the account from elsewhere, still count."""
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(
            username=username, ip_address=request.axes_ip_address
        ).delete()
        return count


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """The page shown instead of logging in while the username, the account or the address is
    locked out."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "axes/lockout.html",
        {"minutes": minutes},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
