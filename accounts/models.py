"""People: the name the public credits them by, and the API tokens their CI uses.

The tables keep the names they had when these models lived in `portal`.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils import timezone


class Profile(models.Model):
    """What a person chooses to be called in public: the download page credits this name."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="profile")
    display_name = models.CharField(
        max_length=100,
        blank=True,
        help_text="Shown on the public download page, e.g. “Packaged for Ubuntu by …”.",
    )
    # When the sign-up link was followed; a confirmation link works only once.
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "portal_profile"

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()


class ApiTokenQuerySet(models.QuerySet):
    def live(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A key a maintainer's CI sends as `Authorization: Token <key>`.

    Only a hash is stored; the key itself is shown once, when it is made.
    """

    PREFIX = "rp_"

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What uses it, e.g. “ubuntu CI”.")
    key_hash = models.CharField(max_length=64, unique=True)
    # The first characters, so a person can tell their tokens apart.
    key_start = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        db_table = "portal_apitoken"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_start}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, *, user, name: str) -> tuple[ApiToken, str]:
        key = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, key_hash=cls.hash_key(key), key_start=key[:10]
        )
        return token, key

    @classmethod
    def authenticate(cls, key: str):
        """The active user a key belongs to, or None; stamps the token as used."""
        token = (
            cls.objects.live()
            .select_related("user")
            .filter(key_hash=cls.hash_key(key), user__is_active=True)
            .first()
        )
        if token is None:
            return None
        cls.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user


class OpenPGPKey(models.Model):
    """A public key a maintainer signs uploads with. Only public keys are kept;
    each was judged when added (not expired, not revoked, not weak, able to sign)."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="openpgp_keys")
    fingerprint = models.CharField(max_length=64)
    algorithm = models.CharField(max_length=20)
    bits = models.PositiveIntegerField(default=0)
    uid = models.CharField(max_length=300, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    armor = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    # When the maintainer proved holding the secret key (a clearsigned challenge);
    # empty for keys added before proofs were asked for.
    proven_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "fingerprint"], name="one_key_per_fingerprint"),
            # A key one account proved is nobody else's.
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=models.Q(proven_at__isnull=False),
                name="one_proven_holder_per_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fingerprint} ({self.uid or self.algorithm})"
