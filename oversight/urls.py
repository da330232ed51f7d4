from django.urls import path

from oversight import audit_views, dashboard_views, work_views

app_name = "oversight"

urlpatterns = [
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("audit/export.xlsx", audit_views.audit_export, name="audit_export"),
    path("dashboards/", dashboard_views.dashboards_page, name="dashboards"),
    path("work/", work_views.background_work, name="background_work"),
    path("work/<int:pk>/retry/", work_views.background_work_retry, name="background_work_retry"),
    path(
        "dashboards/<slug:table>.xlsx",
        dashboard_views.dashboard_export,
        name="dashboard_export",
    ),
]
