"""The worker status page for site administrators: recent pings and their round trips."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import storages
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from portal.errors import NotFound
from releases import permissions
from releases.models import WorkerPing

from . import services


def _site_admin(request) -> None:
    """The site's own pages: a site administrator's; anyone else, the usual 404."""
    if not permissions.is_site_admin(request.user):
        raise NotFound(permissions.NOT_SERVED)


@login_required
def status(request):
    _site_admin(request)
    return render(request, "status.html", {"pings": WorkerPing.objects.all()[:10]})


@login_required
@require_POST
def status_ping(request):
    _site_admin(request)
    ping = services.worker_ping_send()
    messages.info(request, f"Ping {ping.pk} queued; a worker should answer within seconds.")
    return redirect("status")


@require_safe
def healthz(request):
    """For a load balancer: 200 when this web process reaches its database and
    both storages, 503 (naming what failed) otherwise. No login, no secrets."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    for alias in ("uploads", "public"):
        try:
            storages[alias].exists("healthz")
            checks[f"storage:{alias}"] = "ok"
        except Exception as exc:
            checks[f"storage:{alias}"] = f"unreachable: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    response = JsonResponse({"ok": healthy, **checks}, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response
