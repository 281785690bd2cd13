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
    path("prerelease/<str:token>/", views.prerelease_download, name="prerelease-download"),
    path("prerelease-link/<int:release_id>/", views.prerelease_resend, name="prerelease-resend"),
]
