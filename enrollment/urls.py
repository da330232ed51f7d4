from django.urls import path

from enrollment import roster_views, views

app_name = "enrollment"

urlpatterns = [
    path("unions/", views.union_list, name="union_list"),
    path("unions/<int:pk>/", views.union_detail, name="union_detail"),
    path("members/", views.member_list, name="member_list"),
    path("members/<int:pk>/", views.member_detail, name="member_detail"),
    path("members/<int:pk>/reveal/<slug:field>/", views.member_reveal, name="member_reveal"),
    path("rosters/", views.roster_list, name="roster_list"),
    path("rosters/upload/", roster_views.roster_upload, name="roster_upload"),
    path("rosters/upload/funding-help/", roster_views.funding_help, name="funding_help"),
    path(
        "rosters/template/<slug:code>/",
        roster_views.roster_template_download,
        name="roster_template",
    ),
    path("rosters/<int:pk>/", roster_views.roster_detail, name="roster_detail"),
    path("rosters/<int:pk>/progress/", roster_views.roster_progress, name="roster_progress"),
    path("rosters/<int:pk>/submit/", roster_views.roster_submit, name="roster_submit"),
    path("rosters/<int:pk>/withdraw/", roster_views.roster_withdraw, name="roster_withdraw"),
    path("rosters/<int:pk>/approve/", roster_views.roster_approve, name="roster_approve"),
    path("rosters/<int:pk>/return/", roster_views.roster_return, name="roster_return"),
    path("rosters/<int:pk>/payment/", roster_views.roster_payment, name="roster_payment"),
    path(
        "rosters/<int:pk>/download/<slug:kind>/",
        roster_views.roster_download,
        name="roster_download",
    ),
]
