"""Site-wide pages: home, accounts (sign-up, confirmation, profile, API tokens), worker status."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from releases.selectors import project_list_with_releases

from . import services
from .forms import ProfileForm, SignupForm, TokenForm
from .models import ApiToken, Profile, WorkerPing


def home(request):
    return render(request, "home.html", {"projects": project_list_with_releases()})


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.account_create(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            display_name=form.cleaned_data["display_name"],
        )
        return render(request, "accounts/signup_sent.html", {"email": user.email})
    return render(request, "accounts/signup.html", {"form": form})


def signup_confirm(request, token: str):
    try:
        user = services.account_confirm(token=token)
    except services.ConfirmationFailed as failure:
        return render(request, "accounts/confirm_failed.html", {"reason": str(failure)}, status=400)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, "Your account is confirmed. Next: claim the distro you package.")
    return redirect("my-distros")


@login_required
def profile(request):
    instance, _ = Profile.objects.get_or_create(user=request.user)
    form = ProfileForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        services.profile_update(user=request.user, display_name=form.cleaned_data["display_name"])
        messages.success(request, "Profile saved.")
        return redirect("profile")
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "token_form": TokenForm(),
            "tokens": ApiToken.objects.filter(user=request.user),
        },
    )


@login_required
@require_POST
def token_create(request):
    form = TokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the token a name, e.g. “ubuntu CI”.")
        return redirect("profile")
    token, key = services.api_token_create(user=request.user, name=form.cleaned_data["name"])
    # Shown once: only its hash is kept.
    return render(request, "accounts/token_created.html", {"token": token, "key": key})


@login_required
@require_POST
def token_revoke(request, token_id: int):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    services.api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("profile")


@staff_member_required
def status(request):
    return render(request, "status.html", {"pings": WorkerPing.objects.all()[:10]})


@staff_member_required
@require_POST
def status_ping(request):
    ping = services.worker_ping_send()
    messages.info(request, f"Ping {ping.pk} queued; a worker should answer within seconds.")
    return redirect("status")
