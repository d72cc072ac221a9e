"""Browser pages of the recommendations app."""

from django.urls import path

from recommendations import views

app_name = "recommendations"

urlpatterns = [
    path("onboarding/", views.onboarding, name="onboarding"),
]
