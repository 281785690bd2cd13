"""Site-wide pages: the home page and the worker status page."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from releases.selectors import project_list_with_releases

from .models import WorkerPing
from .services import worker_ping_send


def home(request):
    return render(request, "home.html", {"projects": project_list_with_releases()})


@staff_member_required
def status(request):
    return render(request, "status.html", {"pings": WorkerPing.objects.all()[:10]})


@staff_member_required
@require_POST
def status_ping(request):
    ping = worker_ping_send()
    messages.info(request, f"Ping {ping.pk} queued; a worker should answer within seconds.")
    return redirect("status")
