from django.contrib import admin

from .models import (
    Artifact,
    AuditEvent,
    Distro,
    DistroRepository,
    DistroVersionSeen,
    Finding,
    Maintainership,
    PackageLink,
    Project,
    ProjectMember,
    Release,
    Submission,
    WorkerPing,
)


class ProjectMemberInline(admin.TabularInline):
    """Site administrators give a project its first owner here (then the owners run
    its team page). A change here is not an audit event: prefer the team page."""

    model = ProjectMember
    fk_name = "project"
    fields = ("user", "role")
    raw_id_fields = ("user",)
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "policy", "signing")
    inlines = [ProjectMemberInline]
    prepopulated_fields = {"slug": ("name",)}
    # The policy's versions are edited on the staff's policy page; this only names
    # the shipped policy version 1 came from.
    readonly_fields = ("policy",)


@admin.register(Distro)
class DistroAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "listed", "proposed_by")
    list_filter = ("listed",)
    # A maintainer's name is listed by approving a claim on it (the claims page).
    readonly_fields = ("listed", "proposed_by")


@admin.register(Maintainership)
class MaintainershipAdmin(admin.ModelAdmin):
    list_display = ("user", "project", "distro", "state", "requested_at", "decided_at")
    list_filter = ("state", "project", "distro")
    raw_id_fields = ("user", "decided_by")


@admin.register(Artifact)
class ArtifactAdmin(admin.ModelAdmin):
    list_display = ("original_name", "kind", "storage", "size", "sha256", "created_at")
    list_filter = ("kind", "storage")
    readonly_fields = ("key", "size", "sha256", "storage", "kind", "original_name")


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ("project", "version", "state", "submission_deadline", "release_date")
    list_filter = ("state", "project")
    raw_id_fields = ("prerelease", "source_tarball")
    exclude = ("manifest",)


class FindingInline(admin.TabularInline):
    model = Finding
    extra = 0
    can_delete = False
    readonly_fields = ("check_id", "severity", "path", "message", "hint")


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "release",
        "distro",
        "submitter",
        "state",
        "progress",
        "created_at",
    )
    list_filter = ("state", "distro")
    raw_id_fields = ("artifact", "submitter", "decided_by")
    inlines = [FindingInline]


@admin.register(PackageLink)
class PackageLinkAdmin(admin.ModelAdmin):
    list_display = ("release", "distro", "url", "staged", "health", "checked_at")
    list_filter = ("health",)
    raw_id_fields = ("staged", "added_by")


@admin.register(DistroRepository)
class DistroRepositoryAdmin(admin.ModelAdmin):
    list_display = ("project", "distro", "branch", "format", "status", "version", "checked_at")
    list_filter = ("status", "format", "legacy")
    raw_id_fields = ("added_by",)
    readonly_fields = ("status", "version", "reason", "checked_at", "refresh_claimed_at")


@admin.register(DistroVersionSeen)
class DistroVersionSeenAdmin(admin.ModelAdmin):
    list_display = ("repository", "version", "status", "release", "seen_at")
    list_filter = ("status",)
    raw_id_fields = ("repository", "release")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "verb", "object_repr")
    list_filter = ("verb",)
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WorkerPing)
class WorkerPingAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "answered_at", "worker", "round_trip_seconds")
    readonly_fields = ("created_at", "answered_at", "worker")
