from django.contrib import admin
from django.urls import include, path

from publishing.urls import staff_urlpatterns as publishing_staff
from publishing.views import home
from releases.recovery import views as recovery_views

from .views import favicon

urlpatterns = [
    path("", home, name="home"),
    # Browsers ask for /favicon.ico on every page whatever the page names.
    path("favicon.ico", favicon),
    path("status/", recovery_views.status, name="status"),
    path("status/ping/", recovery_views.status_ping, name="status-ping"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("portal.api")),
    path("", include("releases.urls")),
    path("", include("publishing.urls")),
    path("", include(publishing_staff)),
]

# Under /api/ a path that matches no route is answered in JSON like the rest of the API.
handler400 = "portal.views.bad_request"
handler404 = "portal.views.page_not_found"
