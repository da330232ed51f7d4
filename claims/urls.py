from django.urls import path

from claims import payment_views, views

app_name = "claims"

urlpatterns = [
    path("", views.claim_list, name="claim_list"),
    path("report/", views.claim_start, name="claim_start"),
    path("report/<int:enrollment_pk>/", views.claim_report, name="claim_report"),
    path(
        "report/<int:enrollment_pk>/facts/",
        views.claim_report_facts,
        name="claim_report_facts",
    ),
    path("trial/", views.trial, name="trial"),
    path("notices/", views.notices_print, name="notices_print"),
    path("notices/<int:pk>/", views.notice_bundle, name="notice_bundle"),
    path("batches/", payment_views.batch_list, name="batch_list"),
    path("batches/<int:pk>/", payment_views.batch_detail, name="batch_detail"),
    path("batches/<int:pk>/export/", payment_views.batch_export, name="batch_export"),
    path("batches/<int:pk>/paid/", payment_views.batch_paid, name="batch_paid"),
    path(
        "batches/<int:pk>/transfers/<int:transfer_pk>/return/",
        payment_views.transfer_return,
        name="transfer_return",
    ),
    path("batches/<int:pk>/<slug:action>/", payment_views.batch_action, name="batch_action"),
    path("<int:pk>/", views.claim_detail, name="claim_detail"),
    path("<int:pk>/documents/", views.claim_document_add, name="claim_document_add"),
    path(
        "<int:pk>/documents/<int:doc_pk>/",
        views.claim_document_download,
        name="claim_document_download",
    ),
    path("<int:pk>/reveal/", views.claim_reveal, name="claim_reveal"),
    path("<int:pk>/payee/", payment_views.claim_payee, name="claim_payee"),
    path("<int:pk>/withdraw/", views.claim_withdraw, name="claim_withdraw"),
    path("<int:pk>/move/", views.claim_move, name="claim_move"),
    path("<int:pk>/decide/", views.claim_decide, name="claim_decide"),
    path("<int:pk>/secondary/", views.claim_secondary, name="claim_secondary"),
    path("<int:pk>/notice/", views.claim_notice_download, name="claim_notice"),
    path("<int:pk>/notice/part/", views.claim_notice_part, name="claim_notice_part"),
]
