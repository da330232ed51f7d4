from django.urls import path

from enrollment import payment_views, renewal_views, roster_views, views
from organisation import headcount_views

app_name = "enrollment"

urlpatterns = [
    path("unions/", views.union_list, name="union_list"),
    path("unions/<int:pk>/", views.union_detail, name="union_detail"),
    path(
        "unions/<int:pk>/renewal/<slug:code>/",
        renewal_views.renewal_workbook,
        name="renewal_workbook",
    ),
    path("unions/<int:pk>/members.xlsx", renewal_views.member_export, name="member_export"),
    path(
        "unions/<int:pk>/headcount/propose/",
        headcount_views.headcount_propose,
        name="headcount_propose",
    ),
    path(
        "headcount-proposals/<int:pk>/",
        headcount_views.headcount_decide,
        name="headcount_decide",
    ),
    path("members/", views.member_list, name="member_list"),
    path("members/<int:pk>/", views.member_detail, name="member_detail"),
    path("members/<int:pk>/reveal/<slug:field>/", views.member_reveal, name="member_reveal"),
    path("rosters/", views.roster_list, name="roster_list"),
    path("rosters/upload/", roster_views.roster_upload, name="roster_upload"),
    path("rosters/upload/funding-help/", roster_views.funding_help, name="funding_help"),
    path("rosters/upload/plan-panel/", renewal_views.upload_plan_panel, name="upload_plan_panel"),
    path(
        "rosters/template/<slug:code>/",
        roster_views.roster_template_download,
        name="roster_template",
    ),
    path("rosters/<int:pk>/", roster_views.roster_detail, name="roster_detail"),
    path("rosters/<int:pk>/progress/", roster_views.roster_progress, name="roster_progress"),
    path("rosters/<int:pk>/files/", roster_views.roster_files, name="roster_files"),
    path("rosters/<int:pk>/submit/", roster_views.roster_submit, name="roster_submit"),
    path("rosters/<int:pk>/withdraw/", roster_views.roster_withdraw, name="roster_withdraw"),
    path("rosters/<int:pk>/approve/", roster_views.roster_approve, name="roster_approve"),
    path("rosters/<int:pk>/return/", roster_views.roster_return, name="roster_return"),
    path("rosters/<int:pk>/payment/", payment_views.roster_receipt, name="roster_payment"),
    path("payments/receipts/", payment_views.receipt_list, name="receipt_list"),
    path("payments/receipts/export/", payment_views.receipt_export, name="receipt_export"),
    path("payments/statements/", payment_views.statement_list, name="statement_list"),
    path("payments/statements/new/", payment_views.statement_create, name="statement_create"),
    path("payments/statements/<int:pk>/", payment_views.statement_detail, name="statement_detail"),
    path(
        "payments/statements/<int:pk>/receipt/",
        payment_views.statement_receipt,
        name="statement_receipt",
    ),
    path(
        "payments/statements/<int:pk>/download/<slug:kind>/",
        payment_views.statement_download,
        name="statement_download",
    ),
    path("payments/bank-account/", payment_views.bank_account, name="bank_account"),
    path(
        "rosters/<int:pk>/download/<slug:kind>/",
        roster_views.roster_download,
        name="roster_download",
    ),
]
