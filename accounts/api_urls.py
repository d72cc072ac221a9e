from django.urls import path

from accounts import apis

urlpatterns = [
    path("auth/signup", apis.SignupApi.as_view(), name="signup"),
    path("auth/verify", apis.VerifyEmailApi.as_view(), name="verify"),
    path("auth/password-reset", apis.PasswordResetApi.as_view(), name="password-reset"),
    path(
        "auth/password-reset/confirm",
        apis.PasswordResetConfirmApi.as_view(),
        name="password-reset-confirm",
    ),
    path("auth/token", apis.LoginTokenApi.as_view(), name="login-token"),
    path("me", apis.MeApi.as_view(), name="me"),
    path("me/export", apis.ExportApi.as_view(), name="me-export"),
    path("profiles", apis.ProfileListCreateApi.as_view(), name="profiles"),
    path("profiles/<int:profile_id>", apis.ProfileDetailApi.as_view(), name="profile"),
    path(
        "profiles/<int:profile_id>/avatar", apis.ProfileAvatarApi.as_view(), name="profile-avatar"
    ),
    path("profiles/<int:profile_id>/pin", apis.ProfilePinApi.as_view(), name="profile-pin"),
    path(
        "profiles/<int:profile_id>/verify-pin",
        apis.ProfileVerifyPinApi.as_view(),
        name="profile-verify-pin",
    ),
    path(
        "profiles/<int:profile_id>/switch", apis.ProfileSwitchApi.as_view(), name="profile-switch"
    ),
    path("sessions", apis.SessionListApi.as_view(), name="sessions"),
    path("sessions/revoke-all", apis.SessionRevokeAllApi.as_view(), name="sessions-revoke-all"),
    path("sessions/<int:session_id>", apis.SessionRevokeApi.as_view(), name="session-revoke"),
    path("tokens", apis.TokenListCreateApi.as_view(), name="tokens"),
    path("tokens/<int:token_id>", apis.TokenRevokeApi.as_view(), name="token-revoke"),
]
