from django.contrib import admin
from django.urls import include, path, re_path

from publishing.urls import staff_urlpatterns as publishing_staff
from publishing.views import home
from releases.recovery import views as recovery_views

from .views import api_route_missing, favicon, outbox

urlpatterns = [
    path("", home, name="home"),
    # Browsers ask for /favicon.ico on every page whatever the page names.
    path("favicon.ico", favicon),
    # Mail kept instead of sent, on the embedded defaults only (404 otherwise).
    path("outbox/", outbox, name="outbox"),
    path("status/", recovery_views.status, name="status"),
    path("status/ping/", recovery_views.status_ping, name="status-ping"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("portal.api")),
    # Any other path under /api/, or one whose converter refused a value: a JSON 404.
    re_path(r"^api/(?P<rest>.*)$", api_route_missing),
    path("", include("releases.urls")),
    path("", include("publishing.urls")),
    path("", include(publishing_staff)),
]

# Every error is answered through the one error layer (portal/middleware.py).
handler400 = "portal.views.bad_request"
handler403 = "portal.views.permission_denied"
handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"
