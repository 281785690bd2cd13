"""Every page of the domain, one route name per view and per action."""

from django.urls import path

from .coordination import views as staff
from .ledger import views as ledger
from .maintainers import feeds as maintainer_feeds
from .maintainers import views as maintainers
from .prereleases import views as prereleases
from .recovery import views as recovery
from .repositories import views as repositories
from .submissions import views as submissions
from .teams import views as teams
from .verification import views as verification

release_distro = "projects/<slug:project>/releases/<str:version>/distros/<slug:distro>/"
staff_release = "staff/releases/<int:release_id>/"
staff_submission = "staff/submissions/<int:submission_id>/"
claim = "maintain/claims/<int:claim_id>/"

urlpatterns = [
    path("projects/<slug:project>/guide/", verification.project_guide, name="project-guide"),
    path("tools/<str:filename>", verification.bundlecheck_wheel, name="bundlecheck-wheel"),
    path("policy-format/", verification.policy_format, name="policy-format"),
    path(
        "projects/<slug:project>/policy.toml",
        verification.project_policy_text,
        name="project-policy-text",
    ),
    path(
        "projects/<slug:project>/policy/v<int:number>.toml",
        verification.project_policy_text,
        name="project-policy-version-text",
    ),
    # Maintainers and their claims
    path("maintain/", maintainers.my_distros, name="my-distros"),
    path("maintain/claims/", maintainers.claims, name="claims"),
    path("maintain/due/", maintainers.packager_home, name="packager-home"),
    path(
        "maintain/calendar/reset/",
        maintainers.packager_calendar_reset,
        name="packager-calendar-reset",
    ),
    path(
        "maintain/calendar/<str:token>.ics",
        maintainer_feeds.packager_calendar,
        name="packager-calendar",
    ),
    path(claim + "approve/", maintainers.claim_approve, name="claim-approve"),
    path(claim + "decline/", maintainers.claim_decline, name="claim-decline"),
    path(claim + "revoke/", maintainers.claim_revoke, name="claim-revoke"),
    # Where a distro ships the project, after release
    path(
        "maintain/projects/<slug:project>/distros/<slug:distro>/repositories/",
        repositories.distro_repositories,
        name="distro-repositories",
    ),
    path(
        "maintain/projects/<slug:project>/distros/<slug:distro>/repositories/<int:repository_id>/remove/",
        repositories.distro_repository_remove,
        name="distro-repository-remove",
    ),
    # A distro's work on a release
    path(release_distro, submissions.release_distro, name="release-distro"),
    path(release_distro + "links/", submissions.package_links_add, name="package-links-add"),
    path(
        release_distro + "links/<int:link_id>/recheck/",
        submissions.package_link_recheck,
        name="package-link-recheck",
    ),
    path(
        release_distro + "links/<int:link_id>/edit/",
        submissions.package_link_edit,
        name="package-link-edit",
    ),
    path(
        release_distro + "links/<int:link_id>/remove/",
        submissions.package_link_remove,
        name="package-link-remove",
    ),
    path(
        "submissions/<int:submission_id>/", submissions.submission_detail, name="submission-detail"
    ),
    path(
        "submissions/<int:submission_id>/status/",
        submissions.submission_status,
        name="submission-status",
    ),
    path(
        "submissions/<int:submission_id>/report.json",
        submissions.submission_report,
        name="submission-report",
    ),
    path("prerelease/<str:token>/", prereleases.prerelease_download, name="prerelease-download"),
    path(
        "prerelease-link/<int:release_id>/",
        prereleases.prerelease_resend,
        name="prerelease-resend",
    ),
    # Health of this web process (database and storage), for load balancers
    path("healthz", recovery.healthz, name="healthz"),
    # New projects and their teams
    path("projects/ask/", teams.project_ask, name="project-ask"),
    path("staff/project-requests/", teams.staff_project_requests, name="staff-project-requests"),
    path(
        "staff/project-requests/<int:request_id>/approve/",
        teams.staff_project_request_approve,
        name="staff-project-request-approve",
    ),
    path(
        "staff/project-requests/<int:request_id>/decline/",
        teams.staff_project_request_decline,
        name="staff-project-request-decline",
    ),
    path("staff/projects/<slug:project>/team/", teams.staff_team, name="staff-team"),
    path("staff/projects/<slug:project>/keys/", teams.staff_keys, name="staff-keys"),
    path(
        "staff/project-keys/<int:key_id>/retire/", teams.staff_key_retire, name="staff-key-retire"
    ),
    path("staff/members/<int:member_id>/role/", teams.staff_member_role, name="staff-member-role"),
    path(
        "staff/members/<int:member_id>/remove/",
        teams.staff_member_remove,
        name="staff-member-remove",
    ),
    # The release dashboard
    path("staff/", staff.staff_releases, name="staff-releases"),
    path("staff/audit/", staff.staff_audit, name="staff-audit"),
    path("staff/projects/new/", staff.staff_project_new, name="staff-project-new"),
    path("staff/projects/<slug:project>/policy/", verification.staff_policy, name="staff-policy"),
    path(
        "staff/projects/<slug:project>/distros/",
        repositories.staff_distros,
        name="staff-project-distros",
    ),
    path(
        "staff/projects/<slug:project>/policy/preview/",
        verification.staff_policy_preview,
        name="staff-policy-preview",
    ),
    path(
        "staff/projects/<slug:project>/policy/progress/",
        verification.staff_policy_progress,
        name="staff-policy-progress",
    ),
    path(
        "staff/projects/<slug:project>/policy/v<int:number>/",
        verification.staff_policy_version,
        name="staff-policy-version",
    ),
    path(
        "staff/projects/<slug:project>/releases/new/",
        staff.staff_release_new,
        name="staff-release-new",
    ),
    path(staff_release, staff.staff_release, name="staff-release"),
    # The patch ledger
    path(staff_release + "patches/", ledger.staff_release_patches, name="staff-release-patches"),
    path(
        staff_release + "patches.json",
        ledger.staff_release_patches_json,
        name="staff-release-patches-json",
    ),
    path(
        staff_release + "patches.mbox",
        ledger.staff_release_patches_mbox,
        name="staff-release-patches-mbox",
    ),
    path(
        staff_release + "patches/<str:fingerprint>/answer/",
        ledger.staff_release_patch_answer,
        name="staff-release-patch-answer",
    ),
    path(release_distro + "patches/", ledger.release_distro_patches, name="release-distro-patches"),
    path(staff_release + "open/", staff.staff_release_open, name="staff-release-open"),
    path(
        staff_release + "source-override/",
        staff.staff_release_source_override,
        name="staff-release-source-override",
    ),
    path(staff_release + "freeze/", staff.staff_release_freeze, name="staff-release-freeze"),
    path(staff_release + "unfreeze/", staff.staff_release_unfreeze, name="staff-release-unfreeze"),
    path(staff_release + "remind/", staff.staff_release_remind, name="staff-release-remind"),
    path(
        staff_release + "remind/<slug:distro>/",
        staff.staff_release_remind_distro,
        name="staff-release-remind-distro",
    ),
    path(staff_release + "respin/", staff.staff_release_respin, name="staff-release-respin"),
    path(staff_release + "publish/", staff.staff_release_publish, name="staff-release-publish"),
    path(staff_release + "withdraw/", staff.staff_release_withdraw, name="staff-release-withdraw"),
    path(
        staff_release + "reopen/<slug:distro>/",
        staff.staff_reopen_distro,
        name="staff-reopen-distro",
    ),
    path(
        staff_submission + "accept/", staff.staff_submission_accept, name="staff-submission-accept"
    ),
    path(
        staff_submission + "reject/", staff.staff_submission_reject, name="staff-submission-reject"
    ),
]
