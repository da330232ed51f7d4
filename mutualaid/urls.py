"""The root URLconf: it composes the apps' URLconfs by name and imports none of them."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from django.views.i18n import set_language

from mutualaid.forms import LoginForm

# A malformed request (a NUL character, too many form fields...) gets the 400 page in the user's
# language.
handler400 = "mutualaid.middleware.bad_request"

admin.site.site_header = admin.site.site_title = "职工互助保障平台 · 管理"


@login_not_required
@require_GET
@cache_control(public=True, max_age=7 * 24 * 3600)
def favicon(request: HttpRequest) -> HttpResponse:
    """The icon browsers ask for at /favicon.ico on their own, from every page and the login."""
    icon = settings.BASE_DIR / "static" / "favicon.ico"
    return HttpResponse(icon.read_bytes(), content_type="image/x-icon")


urlpatterns = [
    path("", include("enrollment.home_urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("favicon.ico", favicon, name="favicon"),
    path("", include("enrollment.urls")),
    path("claims/", include("claims.urls")),
    path("plans/", include("plans.urls")),
    path("", include("oversight.urls")),
    path("admin/", admin.site.urls),
]
