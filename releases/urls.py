from django.urls import path

from . import views

release_distro = "projects/<slug:project>/releases/<str:version>/distros/<slug:distro>/"

urlpatterns = [
    path("projects/<slug:project>/guide/", views.project_guide, name="project-guide"),
    path("maintain/", views.my_distros, name="my-distros"),
    path("maintain/claims/", views.claims, name="claims"),
    path("maintain/claims/<int:claim_id>/<str:decision>/", views.claim_decide, name="claim-decide"),
    path(release_distro, views.release_distro, name="release-distro"),
    path(release_distro + "links/", views.package_links_add, name="package-links-add"),
    path("submissions/<int:submission_id>/", views.submission_detail, name="submission-detail"),
    path(
        "submissions/<int:submission_id>/status/", views.submission_status, name="submission-status"
    ),
    path(
        "submissions/<int:submission_id>/report.json",
        views.submission_report,
        name="submission-report",
    ),
    path("staff/", views.staff_releases, name="staff-releases"),
    path(
        "staff/projects/<slug:project>/releases/new/",
        views.staff_release_new,
        name="staff-release-new",
    ),
    path("staff/releases/<int:release_id>/", views.staff_release, name="staff-release"),
    path(
        "staff/releases/<int:release_id>/respin/",
        views.staff_release_respin,
        name="staff-release-respin",
    ),
    path(
        "staff/releases/<int:release_id>/reopen/<slug:distro>/",
        views.staff_reopen_distro,
        name="staff-reopen-distro",
    ),
    path(
        "staff/releases/<int:release_id>/<str:action>/",
        views.staff_release_action,
        name="staff-release-action",
    ),
    path(
        "staff/submissions/<int:submission_id>/<str:decision>/",
        views.staff_submission_decide,
        name="staff-submission-decide",
    ),
    path("prerelease/<str:token>/", views.prerelease_download, name="prerelease-download"),
    path("prerelease-link/<int:release_id>/", views.prerelease_resend, name="prerelease-resend"),
]
