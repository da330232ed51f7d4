from django.urls import path

from plans import admin_views, views

app_name = "plans"

urlpatterns = [
    path("", views.plan_list, name="plan_list"),
    path("<slug:code>/", views.plan_detail, name="plan_detail"),
    path("<slug:code>/offered/", admin_views.plan_offered, name="plan_offered"),
    path("<slug:code>/copy/", admin_views.version_copy, name="version_copy"),
    path("<slug:code>/v<int:number>/edit/", admin_views.version_edit, name="version_edit"),
    path("<slug:code>/v<int:number>/try/", admin_views.version_try, name="version_try"),
    path("<slug:code>/v<int:number>/publish/", admin_views.version_publish, name="version_publish"),
]
