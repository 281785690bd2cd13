"""The worker status page for staff: recent pings and their round trips."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from releases.models import WorkerPing

from . import services


@staff_member_required
def status(request):
    return render(request, "status.html", {"pings": WorkerPing.objects.all()[:10]})


@staff_member_required
@require_POST
def status_ping(request):
    ping = services.worker_ping_send()
    messages.info(request, f"Ping {ping.pk} queued; a worker should answer within seconds.")
    return redirect("status")
