"""Account pages: sign-up and confirmation, log-in and password reset, profile, API tokens."""

import functools
import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.views.decorators.http import require_POST

from portal.clientaddress import client_key
from portal.errors import PortalError, RateLimited
from portal.middleware import portal_error
from portal.ratelimit import rate_limit
from releases import permissions

from . import services
from .forms import LoginForm, OpenPGPKeyForm, ProfileForm, SignupForm, TokenForm
from .models import ApiToken, OpenPGPKey, Profile


def rate_limited(scope: str, limit_setting: str, window: int, *, per=("address",), field=""):
    """Answer 429 with Retry-After once a form is posted too often.

    Counted per client address, and also per the value of a posted `field`
    (the address a reset is sent to), and
    per signed-in person for `per=("user",)`. Only POSTs count.
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method == "POST":
                whos = []
                if "address" in per:
                    whos.append("ip:" + client_key(request))
                if "user" in per and request.user.is_authenticated:
                    whos.append(f"user:{request.user.pk}")
                if field and request.POST.get(field, "").strip():
                    whos.append(f"{field}:" + request.POST[field].strip().lower()[:200])
                try:
                    for who in whos:
                        rate_limit(
                            scope, who, limit=getattr(settings, limit_setting), window=window
                        )
                except RateLimited as limited:
                    return portal_error(request, limited)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


# The account that gave its right password but has not confirmed its address:
# only this session may have the confirmation mail sent again.
UNCONFIRMED_SESSION_KEY = "unconfirmed_account"


class LoginView(auth_views.LoginView):
    """Log-ins are throttled by django-axes (accounts/throttling.py): per account
    name and address, and per address, counting wrong passwords only.

    Without an explicit `?next=`, each person lands where their work is: a
    project's team (and site administrators) on the releases they run (with the claims waiting for them), everyone else on
    their distros. An account not confirmed yet is told so, with a resend."""

    authentication_form = LoginForm

    def get_default_redirect_url(self):
        user = self.request.user
        if permissions.is_site_admin(user) or permissions.projects_served(user).exists():
            return resolve_url("staff-releases")
        return resolve_url("my-distros")

    def form_invalid(self, form):
        if form.unconfirmed is not None:
            self.request.session[UNCONFIRMED_SESSION_KEY] = form.unconfirmed.pk
        return super().form_invalid(form)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        context["unconfirmed"] = getattr(form, "unconfirmed", None)
        return context


login_view = LoginView.as_view()


@require_POST
@rate_limited("confirm-resend", "CONFIRM_MAILS_PER_HOUR", 3600)
def signup_confirm_resend(request):
    """Mail the confirmation link again to the account this session just gave
    the right password for (see LoginView); nobody else can ask for it."""
    user_id = request.session.get(UNCONFIRMED_SESSION_KEY)
    user = (
        get_user_model().objects.filter(pk=user_id, is_active=False).first()
        if isinstance(user_id, int)
        else None
    )
    if user is None:
        messages.error(request, "Log in with your password first; the page then offers the mail.")
        return redirect("login")
    try:
        rate_limit(
            "confirm-resend",
            f"user:{user.pk}",
            limit=settings.CONFIRM_MAILS_PER_HOUR,
            window=3600,
        )
    except RateLimited as limited:
        return portal_error(request, limited)
    services.account_confirmation_resend(user=user)
    messages.success(
        request,
        f"We mailed a new confirmation link to {user.email}. Open it, then log in.",
    )
    return redirect("login")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset form, whose mail is queued (accounts.services.password_reset_request):
    the answer is the same redirect, in the same time, for any address."""

    def form_valid(self, form):
        services.password_reset_request(email=form.cleaned_data["email"])
        return HttpResponseRedirect(self.get_success_url())


password_reset = rate_limited("password-reset", "PASSWORD_RESETS_PER_HOUR", 3600, field="email")(
    PasswordResetView.as_view()
)


@rate_limited("signup", "SIGNUPS_PER_HOUR", 3600)
def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # The same page whether or not the address has an account (see account_signup).
        services.account_signup(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            display_name=form.cleaned_data["display_name"],
        )
        return render(request, "accounts/signup_sent.html", {"email": form.cleaned_data["email"]})
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
            "key_form": OpenPGPKeyForm(),
            "keys": OpenPGPKey.objects.filter(user=request.user),
            "challenge": _challenge(request),
        },
    )


CHALLENGE_SESSION_KEY = "openpgp_challenge"


def _challenge(request, *, renew: bool = False) -> str:
    """This session's key challenge; a new one once a key was added with it."""
    nonce = request.session.get(CHALLENGE_SESSION_KEY)
    if renew or not nonce:
        nonce = secrets.token_urlsafe(18)
        request.session[CHALLENGE_SESSION_KEY] = nonce
    return services.openpgp_challenge_text(user=request.user, nonce=nonce)


@login_required
@require_POST
def openpgp_key_add(request):
    form = OpenPGPKeyForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("profile")
    try:
        key = services.openpgp_key_add(
            user=request.user,
            text=form.cleaned_data["key"],
            proof=form.cleaned_data["proof"],
            challenge=_challenge(request),
        )
    except PortalError as error:
        messages.error(request, error.message)
    else:
        _challenge(request, renew=True)
        messages.success(request, f"Key {key.fingerprint} added: sign uploads with it.")
    return redirect("profile")


@login_required
@require_POST
def openpgp_key_remove(request, key_id: int):
    key = get_object_or_404(OpenPGPKey, pk=key_id, user=request.user)
    services.openpgp_key_remove(key=key, actor=request.user)
    messages.success(request, f"Key {key.fingerprint} removed.")
    return redirect("profile")


@login_required
@require_POST
@rate_limited("token", "TOKENS_PER_HOUR", 3600, per=("user",))
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
