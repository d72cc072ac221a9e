from django.urls import path

from accounts import apis

urlpatterns = [
    path("me", apis.MeApi.as_view(), name="me"),
    path("tokens", apis.TokenListCreateApi.as_view(), name="tokens"),
    path("tokens/<int:token_id>", apis.TokenRevokeApi.as_view(), name="token-revoke"),
]
