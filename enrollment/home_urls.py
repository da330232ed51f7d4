"""The portal's home page, included at the root without a namespace: its URL name is "home"."""

from django.urls import path

from enrollment import views

urlpatterns = [path("", views.home, name="home")]
