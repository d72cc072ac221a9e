"""REST API routes of the recommendations app (mounted under /api/v1/)."""

from django.urls import path

from recommendations import apis

urlpatterns = [
    path("recommendations/rows", apis.RowsApi.as_view(), name="recs-rows"),
    path(
        "recommendations/titles/<int:title_id>/more-like-this",
        apis.MoreLikeThisApi.as_view(),
        name="recs-more-like-this",
    ),
    path(
        "recommendations/titles/<int:title_id>/explanation",
        apis.ExplanationApi.as_view(),
        name="recs-explanation",
    ),
    path("recommendations/onboarding", apis.OnboardingApi.as_view(), name="recs-onboarding"),
]
