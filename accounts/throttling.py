"""Log-in throttling with django-axes: wrong passwords are counted per
(account name, client address) and, with a higher limit, per client address.

Someone guessing an account's password from one address is stopped there,
and never locks the owner out from theirs; one address trying many accounts
is stopped at the higher limit. Only failures count, so right passwords from
an address with no failures are never refused. The refusal is the same
whatever the account name, known or not. API tokens are not counted here.

portal/settings.py names the functions below (AXES_* settings). The client
address is portal.clientaddress's, the one reader of it.
"""

from __future__ import annotations

from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_lockout_parameters
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.http import HttpResponse
from django.utils import timezone

from portal.clientaddress import client_address
from portal.errors import RateLimited
from portal.middleware import portal_error

COOL_OFF = timedelta(minutes=15)


def login_username(request, credentials) -> str:
    """The account name a log-in tries, as counted: "Owner" and "owner" are one."""
    name = credentials.get("username") if credentials else request.POST.get("username")
    return str(name or "").strip().lower()[:150]


def _pair_limit() -> int:
    # LOGINS_PER_15_MINUTES wrong passwords are answered; the one after is refused.
    return settings.LOGINS_PER_15_MINUTES + 1


def _address_limit() -> int:
    return settings.LOGIN_FAILURES_PER_ADDRESS + 1


def failure_limit(request, credentials) -> int:
    return _pair_limit()


def not_a_log_in(request, credentials) -> bool:
    """API token checks also go through `authenticate`; they are not log-ins to count."""
    return "api_token" in (credentials or {}) or request.path.startswith("/api/")


class LoginThrottleHandler(AxesDatabaseHandler):
    """Axes' database handler with a limit of its own for the address alone.

    Axes compares the largest count over its lockout parameters with one
    limit. The address's count is scaled to the account-and-address limit
    first, so the address locks at its own, higher limit:
    floor(n * pair / address) >= pair exactly when n >= address.
    """

    def get_failures(self, request, credentials=None) -> int:
        pair, address = _pair_limit(), _address_limit()
        worst = 0
        for parameter, attempts in zip(
            get_lockout_parameters(request, credentials),
            self.get_user_attempts(request, credentials),
            strict=True,
        ):
            count = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            if parameter == "ip_address":
                count = count * pair // address
            worst = max(worst, count)
        return worst


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' backend, minus what is not a log-in form: token checks, and calls
    made without a request (code, tests), which have no client address."""

    def authenticate(self, request, username=None, password=None, **credentials):
        if request is None or "api_token" in credentials:
            return None
        return super().authenticate(request, username=username, password=password, **credentials)


def _retry_after(request) -> int:
    """Seconds until the address's last counted failure leaves the cool-off window."""
    now = timezone.now()
    latest = AccessAttempt.objects.filter(
        ip_address=client_address(request), attempt_time__gte=now - COOL_OFF
    ).aggregate(latest=Max("attempt_time"))["latest"]
    if latest is None:
        return 1
    return max(1, int((latest + COOL_OFF - now).total_seconds()) + 1)


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """429 with Retry-After; the same words for every account name, known or not."""
    return portal_error(request, RateLimited(retry_after=_retry_after(request)))
