from django.urls import path

from . import api

urlpatterns = [
    path("openapi.json", api.openapi, name="api-openapi"),
    path(
        "projects/<slug:project>/releases/<str:version>/distros/<slug:distro>/submissions/",
        api.submission_create,
        name="api-submission-create",
    ),
    path("projects/<slug:project>/releases/<str:version>/", api.release_detail, name="api-release"),
    path("submissions/<int:submission_id>/", api.submission_detail, name="api-submission"),
]
