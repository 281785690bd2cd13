"""The domain: upstream projects, their releases, the distros that package them,
the maintainers who do the packaging, and what they submit.

Rules the database can hold are constraints here, not only checks in code:
one live submission per release and distro, one version string per project,
a package link that is either a URL or a staged file.

Longer than the portal's other modules on purpose: one app label holds one
migration history, so every model of the domain lives in this one file.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

# Superseded and stale submissions are history; the rest are the distro's
# current word for the release, and there is at most one of those.
LIVE_SUBMISSION_STATES = ("received", "verifying", "passed", "failed", "accepted", "rejected")
LIVE_MAINTAINERSHIP_STATES = ("requested", "approved")

SHA256_HEX = RegexValidator(r"^[0-9a-f]{64}$", "A sha256 is 64 lowercase hexadecimal digits.")


class Project(models.Model):
    """An upstream project whose releases are packaged by distro maintainers."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    homepage = models.URLField(blank=True)
    repository = models.URLField("source repository", max_length=500, blank=True)
    # The shipped bundlecheck policy (or a policy file's path) that seeds the
    # project's first PolicyVersion; from then on the versions are the rules.
    policy = models.CharField(max_length=100, default="convirt")
    # Every upload must carry a detached OpenPGP signature by its maintainer's key.
    require_signed_uploads = models.BooleanField(default=False)
    # The upstream's git repository: each pre-release is proved against its tag there.
    # An http(s) URL; a path or file:// URL only where SOURCE_REPOSITORY_ALLOW_LOCAL.
    source_repository = models.CharField(max_length=500, blank=True)

    class Signing(models.TextChoices):
        PORTAL = "portal", "the portal signs with the project's own key"
        RELEASE_MANAGER = "release_manager", "a release manager signs offline"

    # Who signs its releases: the portal with the project's key (ProjectKey with a
    # secret), or a release manager whose public key is in the project's KEYS.
    signing = models.CharField(max_length=16, choices=Signing.choices, default=Signing.PORTAL)
    # Set when something the public page shows changed, cleared by the
    # regeneration that caught up with it: the sweeper queues a regeneration
    # that was lost (broker down) for any page stale for too long.
    page_stale_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PolicyVersion(models.Model):
    """One saved version of a project's packaging policy: TOML text, never changed.

    Each save is a new version with its digest, author, time and change note;
    every verification records the version it judged by.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="policy_versions")
    number = models.PositiveIntegerField()
    text = models.TextField()
    sha256 = models.CharField(max_length=64, validators=[SHA256_HEX])
    note = models.CharField(max_length=200, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "number"], name="one_policy_version_number_per_project"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project.slug} policy v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValueError("A policy version is immutable: save a new version instead.")
        super().save(*args, **kwargs)


class Distro(models.Model):
    """A Linux distribution; its slug is the `$DISTRO` in each project's paths
    (ConVirt's `distros/$DISTRO`, Tern's `packaging/$DISTRO`)."""

    slug = models.SlugField(
        unique=True,
        help_text="Lower case; the distro's directory name in each project's paths, e.g. ubuntu.",
    )
    name = models.CharField(max_length=100)
    # A distro a maintainer names is theirs and staff's to see until staff
    # approve a claim on it (releases/maintainers/services.py): only then is it
    # offered in everyone's claim form. Staff's own and older distros are listed.
    listed = models.BooleanField(
        default=True, help_text="Offered in everyone's claim form (set by approving a claim)."
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The maintainer who named it, when not staff.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class Maintainership(models.Model):
    """A person packaging a project for a distro: asked for, then approved by staff."""

    class State(models.TextChoices):
        REQUESTED = "requested", "requested"
        APPROVED = "approved", "approved"
        DECLINED = "declined", "declined"
        REVOKED = "revoked", "revoked"

    LIVE_STATES = LIVE_MAINTAINERSHIP_STATES

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="maintainerships"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="maintainerships")
    distro = models.ForeignKey(Distro, on_delete=models.PROTECT, related_name="maintainerships")
    state = models.CharField(max_length=16, choices=State.choices, default=State.REQUESTED)
    reason = models.TextField(blank=True, help_text="Why it was declined or revoked.")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["project", "distro", "requested_at"]
        constraints = [
            # Revoked and declined rows stay as history; only one live claim.
            models.UniqueConstraint(
                fields=["user", "project", "distro"],
                condition=Q(state__in=LIVE_MAINTAINERSHIP_STATES),
                name="one_live_maintainership",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} for {self.distro} of {self.project} ({self.state})"


class ProjectMember(models.Model):
    """A person on a project's team, with one role (releases/permissions.py says what
    each role may do). Site administrators (`is_staff`) are on no team by being so."""

    class Role(models.TextChoices):
        OWNER = "owner", "owner"
        RELEASE_MANAGER = "release_manager", "release manager"
        REVIEWER = "reviewer", "reviewer"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_roles"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    added_at = models.DateTimeField(auto_now_add=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["project", "role", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="one_role_per_project_member"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) of {self.project}"


class ProjectRequest(models.Model):
    """Someone with an account asks for a new project; a site administrator decides.
    Approved, it becomes the Project and its asker the project's first owner."""

    class State(models.TextChoices):
        REQUESTED = "requested", "waiting for a site administrator"
        APPROVED = "approved", "approved"
        DECLINED = "declined", "declined"

    name = models.CharField(max_length=100)
    slug = models.SlugField("short name")
    homepage = models.URLField(blank=True)
    repository = models.URLField("source repository", max_length=500)
    policy_text = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_requests"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.REQUESTED)
    reason = models.TextField(blank=True, help_text="Why it was declined.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    project = models.OneToOneField(
        Project, on_delete=models.SET_NULL, null=True, blank=True, related_name="request"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["slug"],
                condition=Q(state="requested"),
                name="one_waiting_request_per_short_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug}), asked by {self.requested_by}"


class ProjectKey(models.Model):
    """An OpenPGP key in a project's KEYS. A portal-held key keeps its secret key
    encrypted (Fernet, with SIGNING_KEYS_FERNET_KEY), readable by the worker only,
    never through the web; a release manager's key is public only. Retired keys stay
    in KEYS for the releases they signed."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="keys")
    fingerprint = models.CharField(max_length=64)
    user_id = models.CharField(max_length=300, blank=True)
    public_armor = models.TextField()
    secret_encrypted = models.TextField(blank=True, editable=False)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "-added_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "fingerprint"], name="one_key_row_per_project_and_fingerprint"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fingerprint} of {self.project}"

    @property
    def portal_held(self) -> bool:
        return bool(self.secret_encrypted)


class PackagerCalendar(models.Model):
    """The secret in the address of a packager's iCalendar feed of deadlines: the feed
    is read by calendar programs that cannot log in. Reset, the old address stops."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="packager_calendar"
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"calendar of {self.user}"


class ArtifactKind(models.TextChoices):
    PRERELEASE = "prerelease", "pre-release tarball"
    SUBMISSION = "submission", "submitted source package or bundle"
    STAGED_PACKAGE = "staged_package", "binary package staged by upstream"
    SOURCE_RELEASE = "source_release", "public source tarball"


class ArtifactStorage(models.TextChoices):
    UPLOADS = "uploads", "private"
    PUBLIC = "public", "public"


class Artifact(models.Model):
    """A file the portal keeps, addressed by a storage alias and a key.

    Keys are made by the portal, never taken from an uploaded file name, which
    is kept only to show and to offer as the download name.
    """

    Kind = ArtifactKind
    Storage = ArtifactStorage

    kind = models.CharField(max_length=20, choices=ArtifactKind.choices)
    storage = models.CharField(
        max_length=10, choices=ArtifactStorage.choices, default=ArtifactStorage.UPLOADS
    )
    key = models.CharField(max_length=500)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, validators=[SHA256_HEX])
    # Kept for public downloads, whose page lists both digests.
    sha512 = models.CharField(max_length=128, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    # A public source tarball: the fingerprint of the OpenPGP key that signed
    # it (its `.asc` and SHA256SUMS.asc); empty when it was published unsigned.
    signed_by = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When its bytes were deleted (the retention of failed and replaced
    # uploads); the row, its sha256 and its size stay on record.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["storage", "key"], name="artifact_unique_key"),
            models.CheckConstraint(condition=Q(size__gte=0), name="artifact_size_not_negative"),
            models.CheckConstraint(
                condition=Q(kind__in=ArtifactKind.values), name="artifact_known_kind"
            ),
            models.CheckConstraint(
                condition=Q(storage__in=ArtifactStorage.values), name="artifact_known_storage"
            ),
        ]
        indexes = [models.Index(fields=["sha256"])]

    def __str__(self) -> str:
        return self.original_name or self.key

    @property
    def is_public(self) -> bool:
        return self.storage == self.Storage.PUBLIC


class FreezeReason(models.TextChoices):
    DEADLINE = "deadline", "its submission deadline passed"
    STAFF = "staff", "the release team froze it"


class Release(models.Model):
    """A version of a project, coordinated from pre-release to publication."""

    FreezeReason = FreezeReason

    class State(models.TextChoices):
        DRAFT = "draft", "draft"
        PRERELEASE = "prerelease", "pre-release: open for submissions"
        FROZEN = "frozen", "frozen"
        PUBLISHING = "publishing", "publishing: assembling the source tarball"
        RELEASED = "released", "released"
        WITHDRAWN = "withdrawn", "withdrawn"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="releases")
    version = models.CharField(
        max_length=50,
        validators=[
            RegexValidator(r"^[0-9A-Za-z][0-9A-Za-z.+~_-]*$", "Use letters, digits and . + ~ _ -")
        ],
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    prerelease_date = models.DateTimeField(null=True, blank=True)
    submission_deadline = models.DateTimeField(null=True, blank=True)
    release_date = models.DateTimeField(null=True, blank=True)
    prerelease = models.ForeignKey(
        Artifact, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The pre-release tarball's index (member, type, mode, size, sha256),
    # made once by a worker and compared with every submission.
    manifest = models.JSONField(null=True, blank=True)
    source_tarball = models.ForeignKey(
        Artifact, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # While frozen, these distros may still upload (staff reopened them).
    reopened_distros = models.ManyToManyField("Distro", blank=True, related_name="+")
    # The manifest of the tarball a respin replaced, to tell maintainers what changed.
    replaced_manifest = models.JSONField(null=True, blank=True)
    withdrawn_reason = models.TextField(blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # Withdrawn because its files must not be trusted: they stop being served
    # (410) instead of staying at their addresses for those who pinned them.
    compromised = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    # Why it is frozen (while frozen): its deadline passed, or staff froze it.
    frozen_reason = models.CharField(max_length=16, choices=FreezeReason.choices, blank=True)
    # The deadline the sweeper froze it at: staff reopening it after that
    # deadline decided so, and the sweeper leaves it open until a new one.
    deadline_frozen_at = models.DateTimeField(null=True, blank=True)
    # While publishing: when a worker claimed the assembly (None: unclaimed).
    # A claim older than the lease belongs to a dead run and may be taken again.
    assembly_claimed_at = models.DateTimeField(null=True, blank=True)
    # When the assembly, and the pre-release's delivery, were last queued:
    # the sweeper queues again what has waited too long since.
    assembly_queued_at = models.DateTimeField(null=True, blank=True)
    delivery_queued_at = models.DateTimeField(null=True, blank=True)
    # The tag of the project's source repository the pre-release is built from
    # (given at creation and each respin); "" when none was given.
    source_tag = models.CharField(max_length=200, blank=True)
    # Signed offline by a release manager (Project.signing): the tarball the portal
    # assembled for signing, and the detached signature verified against the KEYS.
    signing_sha256 = models.CharField(max_length=64, blank=True, validators=[SHA256_HEX])
    signing_key = models.CharField(max_length=500, blank=True)  # the staged tarball
    offline_signature = models.TextField(blank=True)
    offline_signed_by = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="release_unique_version"),
            models.CheckConstraint(
                condition=Q(state="withdrawn", withdrawn_reason__gt="") | ~Q(state="withdrawn"),
                name="withdrawn_release_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} {self.version}"


class Submission(models.Model):
    """A revised source package, or only a distro bundle, uploaded for a release."""

    class State(models.TextChoices):
        RECEIVED = "received", "received"
        VERIFYING = "verifying", "verifying"
        PASSED = "passed", "passed"
        FAILED = "failed", "failed"
        ACCEPTED = "accepted", "accepted"
        REJECTED = "rejected", "rejected"
        SUPERSEDED = "superseded", "superseded"
        STALE = "stale", "stale"

    LIVE_STATES = LIVE_SUBMISSION_STATES

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="submissions")
    distro = models.ForeignKey(Distro, on_delete=models.PROTECT, related_name="submissions")
    submitter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions"
    )
    artifact = models.ForeignKey(Artifact, on_delete=models.PROTECT, related_name="submissions")
    # A binary package (.deb/.rpm) the maintainer asks upstream to stage and host.
    package = models.ForeignKey(
        Artifact, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.RECEIVED)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    note = models.TextField(blank=True)
    # A detached OpenPGP signature over the bundle, as the maintainer sent it.
    signature = models.TextField(blank=True)
    # Why verification could not finish (timeout, unreadable storage), if so.
    error = models.TextField(blank=True)
    # Findings the verifier found but did not keep: past the cap per submission,
    # or collapsed repeats it counted rather than listed.
    findings_omitted = models.PositiveIntegerField(default=0)
    # The outside checkers that judged it, with their version lines
    # (e.g. {"lintian": "lintian 2.116.3 (Debian 12)"}).
    checked_with = models.JSONField(default=dict, blank=True)
    # The version of the project's policy the verdict was reached by.
    policy_version = models.ForeignKey(
        PolicyVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="submissions"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # When its verification was last queued, and how many times a worker died
    # on it: the sweeper queues it again, or gives up on a bundle that kills
    # every worker.
    queued_at = models.DateTimeField(null=True, blank=True)
    stalls = models.PositiveSmallIntegerField(default=0)
    verification_started_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decision_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "distro"],
                condition=Q(state__in=LIVE_SUBMISSION_STATES),
                name="one_live_submission_per_release_distro",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="submission_progress_at_most_100"
            ),
        ]
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.distro} submission {self.pk} for {self.release} ({self.state})"


class Reverification(models.Model):
    """Staff asked for the live submissions to be judged again by a new policy version."""

    policy_version = models.ForeignKey(
        PolicyVersion, on_delete=models.CASCADE, related_name="reverifications"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"re-verification by {self.policy_version}"


class ReverificationItem(models.Model):
    """One submission of a re-verification: its verdict before and after (once done)."""

    reverification = models.ForeignKey(
        Reverification, on_delete=models.CASCADE, related_name="items"
    )
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+")
    verdict_before = models.CharField(max_length=16)
    verdict_after = models.CharField(max_length=16, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reverification", "submission"], name="one_item_per_reverified_submission"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.submission} in {self.reverification}"


class PrereleaseInvitation(models.Model):
    """A maintainer was mailed a personal link to a release's pre-release tarball."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="invitations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    artifact = models.ForeignKey(Artifact, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"{self.user} invited to {self.release}"


class PrereleaseDownload(models.Model):
    """A maintainer fetched the pre-release tarball (the dashboard shows who has it)."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    artifact = models.ForeignKey(Artifact, on_delete=models.PROTECT, related_name="+")
    downloaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-downloaded_at"]

    def __str__(self) -> str:
        return f"{self.user} downloaded {self.release}"


class Reminder(models.Model):
    """Staff reminded a distro's maintainers about a release (at most once a day)."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="reminders")
    distro = models.ForeignKey(Distro, on_delete=models.CASCADE, related_name="+")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    sent_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"reminder to {self.distro} for {self.release}"


class Finding(models.Model):
    """One thing the verifier found in a submission."""

    class Severity(models.TextChoices):
        ERROR = "error", "error"
        WARNING = "warning", "warning"
        INFO = "info", "info"

    class Subject(models.TextChoices):
        BUNDLE = "bundle", "source package or bundle"
        PACKAGE = "package", "staged binary package"

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="findings")
    subject = models.CharField(max_length=8, choices=Subject.choices, default=Subject.BUNDLE)
    check_id = models.CharField("check", max_length=64)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    path = models.TextField(null=True, blank=True)  # noqa: DJ001 - null: no path, "" is a path
    message = models.TextField()
    hint = models.TextField(blank=True)
    # The rule's own documentation, for the distros' linters (lintian's tag page).
    url = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["submission", "id"]

    def __str__(self) -> str:
        return f"{self.severity}: {self.check_id} {self.path or ''}".strip()


class PackageLink(models.Model):
    """Where the public downloads a distro's package: a URL, or a file upstream stages."""

    class Health(models.TextChoices):
        UNCHECKED = "unchecked", "not checked yet"
        OK = "ok", "reachable"
        BROKEN = "broken", "broken"

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="package_links")
    distro = models.ForeignKey(Distro, on_delete=models.PROTECT, related_name="package_links")
    url = models.URLField(max_length=1000, blank=True)
    staged = models.ForeignKey(
        Artifact, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sha256 = models.CharField(max_length=64, blank=True, validators=[SHA256_HEX])
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.UNCHECKED)
    checked_at = models.DateTimeField(null=True, blank=True)
    check_detail = models.TextField(blank=True)
    # What the network said, for staff and the log; maintainers see check_detail.
    check_internal = models.TextField(blank=True)

    class Meta:
        ordering = ["release", "distro", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(url="") & Q(staged__isnull=False))
                | (~Q(url="") & Q(staged__isnull=True)),
                name="package_link_url_or_staged",
            ),
        ]

    def __str__(self) -> str:
        return self.url or f"staged {self.staged}"


class AuditEvent(models.Model):
    """Who did what to which object, written in the same transaction as the change."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    verb = models.CharField(max_length=64)
    # "app_label.model" of the object: a plain string, so that events never
    # depend on content-type ids a process may have cached.
    object_type = models.CharField(max_length=100, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    # What the event concerns, from its object: the audit is filtered, and
    # scoped to who may read it, by these.
    project = models.ForeignKey(
        Project, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    release = models.ForeignKey(
        "Release", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    distro = models.ForeignKey(
        Distro, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # When its subscribers ran (mail, webhooks, pages): the row is the outbox
    # the sweeper reads to dispatch again what a dead process left undone.
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(dispatched_at__isnull=True),
                name="audit_undispatched",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.actor or 'system'} {self.verb} {self.object_repr}"

    def target(self):
        """The object the event is about, as it is now (None once deleted)."""
        from django.apps import apps

        if not self.object_type or not self.object_id:
            return None
        try:
            model = apps.get_model(self.object_type)
        except (LookupError, ValueError):
            return None
        return model._default_manager.filter(pk=self.object_id).first()


class WorkerPing(models.Model):
    """One round trip through the task queue: queued by the web, answered by a worker.

    The status page shows the latest one, so staff can tell at a glance
    whether verification and publishing will actually run.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True)

    class Meta:
        db_table = "portal_workerping"  # made when it lived in `portal`
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"ping {self.pk} ({'answered' if self.answered_at else 'waiting'})"

    @property
    def round_trip_seconds(self) -> float | None:
        if self.answered_at is None:
            return None
        return (self.answered_at - self.created_at).total_seconds()


class WebhookEndpoint(models.Model):
    """Where a project's release events are POSTed, signed per Standard Webhooks."""

    EVENTS = (
        "release.opened",
        "release.frozen",
        "release.respun",
        "release.published",
        "release.withdrawn",
        "submission.verified",
        "submission.accepted",
        "submission.rejected",
        "distro.version_seen",
    )

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=1000)
    events = models.JSONField(default=list)
    # `whsec_` + base64: shown once when made, then only used to sign.
    secret = models.CharField(max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Disabled: no new delivery is made, and a waiting one is given up.
    disabled_at = models.DateTimeField(null=True, blank=True)
    # After a rotation the old secret still signs (a second signature) until
    # `previous_secret_until`, so receivers can switch without losing events.
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "created_at"]

    def __str__(self) -> str:
        return f"{self.project} → {self.url}"


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one endpoint, with what came back."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40)
    # The `webhook-id`: a resend keeps it (Standard Webhooks), so receivers
    # can tell it is the same event; only the first send of an event is unique.
    message_id = models.CharField(max_length=40)
    resend_of = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="resends"
    )
    payload = models.JSONField()
    attempts = models.PositiveSmallIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    given_up_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["message_id"],
                condition=models.Q(resend_of__isnull=True),
                name="webhookdelivery_first_send_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint.url} ({self.outcome or 'waiting'})"


class PatchLedger(models.Model):
    """The patches the distros carry for a release, merged, with their status against its
    pre-release: bundlecheck's ledger as JSON, recomputed at each verified upload and respin."""

    release = models.OneToOneField(Release, on_delete=models.CASCADE, related_name="patch_ledger")
    prerelease_sha256 = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict)
    computed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"patch ledger of {self.release}"


class PatchAnswer(models.Model):
    """Upstream's answer to one ledger entry, which its carriers read."""

    class Decision(models.TextChoices):
        PLANNED = "planned", "planned upstream"
        WONT_TAKE = "wont_take", "won't take"

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="patch_answers")
    fingerprint = models.CharField(max_length=64, validators=[SHA256_HEX])
    decision = models.CharField(max_length=16, choices=Decision.choices)
    comment = models.TextField(max_length=2000, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["release", "fingerprint"], name="one_answer_per_patch")
        ]

    def __str__(self) -> str:
        return f"{self.fingerprint[:16]}: {self.get_decision_display()}"


class SourceProof(models.Model):
    """A pre-release tarball compared with its tag's tree, file by file (bundlecheck's
    source proof): one per tag given, the latest is the release's word."""

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        PASSED = "passed", "passed"
        FAILED = "failed", "failed"
        ERROR = "error", "could not be made"

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="source_proofs")
    # The tarball compared (the pre-release at the time) and where it was compared.
    prerelease = models.ForeignKey(Artifact, on_delete=models.PROTECT, related_name="+")
    repository = models.CharField(max_length=500)
    tag = models.CharField(max_length=200)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    tag_object = models.CharField(max_length=64, blank=True)
    commit = models.CharField(max_length=64, blank=True)
    tree = models.CharField(max_length=64, blank=True)
    # signed, unsigned, lightweight, unknown-key, bad (bundlecheck.gitsource.Signature)
    signature = models.CharField(max_length=16, blank=True)
    signer = models.CharField(max_length=300, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    # The commit the same tag named at the release's previous proof, when it moved.
    moved_from = models.CharField(max_length=64, blank=True)
    summary = models.TextField(blank=True)
    counts = models.JSONField(default=dict, blank=True)
    # Every file that is not identical ({path, class, detail, diff}), collisions, problems.
    files = models.JSONField(default=list, blank=True)
    collisions = models.JSONField(default=list, blank=True)
    problems = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A failed proof lets the release open only with an owner's written reason.
    override_reason = models.TextField(blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    overridden_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["release", "-created_at", "-pk"]
        get_latest_by = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"source proof of {self.release} against {self.tag}"


class RepositoryStatus(models.TextChoices):
    """What a distro's branch shows of the project, in Repology's words."""

    NEWEST = "newest", "newest"
    OUTDATED = "outdated", "outdated"
    LEGACY = "legacy", "legacy"
    DEVEL = "devel", "devel"
    MISSING = "missing", "missing"
    UNKNOWN = "unknown", "unknown"


class DistroRepository(models.Model):
    """One branch of a distro's archive (a Debian suite, a Fedora release, an Arch repo,
    an Alpine branch): where its index is, in which format, and the project's package
    names in it. Read periodically (releases/repositories/services.py)."""

    class Format(models.TextChoices):
        DEB_SOURCES = "deb-sources", "Debian/Ubuntu Sources (dists/<suite>/main/source/Sources.xz)"
        DEB_PACKAGES = "deb-packages", "Debian/Ubuntu Packages (dists/<suite>/main/binary-<arch>/Packages.xz)"
        RPM_MD = "rpm-md", "RPM repository (repodata/repomd.xml)"
        ARCH_DB = "arch-db", "Arch repository database (<repo>.db.tar.gz)"
        APK_INDEX = "apk-index", "Alpine index (APKINDEX.tar.gz)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="repositories")
    distro = models.ForeignKey(Distro, on_delete=models.CASCADE, related_name="repositories")
    branch = models.CharField(
        max_length=64, help_text="The suite or branch as the distro names it: trixie, 42, v3.20."
    )
    url = models.CharField(max_length=1000, help_text="The address of the index itself.")
    format = models.CharField(max_length=16, choices=Format.choices)
    package_names = models.JSONField(
        default=list, help_text="The project's package names in this repository (source or binary)."
    )
    page_url = models.URLField(
        max_length=500, blank=True,
        help_text="Where people see the package, e.g. https://packages.debian.org/trixie/tern.",
    )
    # An older branch that is right to keep an older release (a stable suite, an LTS):
    # an older version there is "legacy", not "outdated".
    legacy = models.BooleanField(
        default=False,
        help_text="A stable or long-term branch that keeps an older release on purpose.",
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The last reading, kept here for the pages; its history is DistroVersionSeen.
    status = models.CharField(max_length=10, choices=RepositoryStatus.choices, blank=True)
    version = models.CharField(max_length=256, blank=True)
    reason = models.TextField(blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    # Set by the refresh that takes it, so two workers never read one repository at once.
    refresh_claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "distro__slug", "branch"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "distro", "branch"], name="one_repository_per_branch"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.distro.name} {self.branch}"


class DistroVersionSeen(models.Model):
    """A change in what a branch shows: a new version, or a new status for it. The first
    row naming a released version is when that release reached the branch."""

    repository = models.ForeignKey(
        DistroRepository, on_delete=models.CASCADE, related_name="seen"
    )
    version = models.CharField(max_length=256, blank=True)
    upstream_version = models.CharField(max_length=256, blank=True)
    # The published release this version packages, when it packages one.
    release = models.ForeignKey(
        Release, on_delete=models.SET_NULL, null=True, blank=True, related_name="seen_in"
    )
    status = models.CharField(max_length=10, choices=RepositoryStatus.choices)
    reason = models.TextField(blank=True)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-seen_at", "-id"]

    def __str__(self) -> str:
        return f"{self.repository}: {self.version or self.status}"
