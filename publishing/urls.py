from django.urls import path

from . import feeds, views

app_name = "publishing"

urlpatterns = [
    path("provenance/assembly/v1", views.provenance_predicate, name="provenance-predicate"),
    path("downloads/<slug:project>/", views.public_page, name="page"),
    path("downloads/<slug:project>/downloads.json", views.public_json, name="json"),
    path("downloads/<slug:project>/feed.atom", feeds.ReleaseFeed(), name="feed"),
    path(
        "downloads/<slug:project>/distros.atom", feeds.DistroVersionFeed(), name="distros-feed"
    ),
    path(
        "downloads/<slug:project>/<str:version>/packages/<int:link_id>/<str:filename>",
        views.staged_package,
        name="staged",
    ),
    path("downloads/<slug:project>/<path:name>", views.public_file, name="file"),
]

# The staff's pages of the public side, named like the rest of the staff's
# pages (no namespace): portal/urls.py includes them beside releases.urls.
staff_urlpatterns = [
    path("staff/projects/<slug:project>/webhooks/", views.staff_webhooks, name="staff-webhooks"),
    path(
        "staff/webhooks/<int:endpoint_id>/disable/",
        views.staff_webhook_disable,
        name="staff-webhook-disable",
    ),
    path(
        "staff/webhooks/<int:endpoint_id>/enable/",
        views.staff_webhook_enable,
        name="staff-webhook-enable",
    ),
    path(
        "staff/webhooks/<int:endpoint_id>/delete/",
        views.staff_webhook_delete,
        name="staff-webhook-delete",
    ),
    path(
        "staff/webhooks/<int:endpoint_id>/rotate-secret/",
        views.staff_webhook_rotate_secret,
        name="staff-webhook-rotate-secret",
    ),
    path(
        "staff/releases/<int:release_id>/signing/",
        views.staff_release_signing,
        name="staff-release-signing",
    ),
    path(
        "staff/releases/<int:release_id>/signing/prepare/",
        views.staff_release_signing_prepare,
        name="staff-release-signing-prepare",
    ),
    path(
        "staff/releases/<int:release_id>/signing/tarball",
        views.staff_release_signing_tarball,
        name="staff-release-signing-tarball",
    ),
    path(
        "staff/webhook-deliveries/<int:delivery_id>/resend/",
        views.staff_webhook_resend,
        name="staff-webhook-resend",
    ),
]
