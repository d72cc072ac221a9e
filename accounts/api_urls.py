from django.urls import path

from accounts.apis import account, devices, profiles, sign_in, tokens

urlpatterns = [
    path("auth/signup", sign_in.SignupApi.as_view(), name="signup"),
    path("auth/verify", sign_in.VerifyEmailApi.as_view(), name="verify"),
    path("auth/password-reset", sign_in.PasswordResetApi.as_view(), name="password-reset"),
    path(
        "auth/password-reset/confirm",
        sign_in.PasswordResetConfirmApi.as_view(),
        name="password-reset-confirm",
    ),
    path("auth/token", sign_in.LoginTokenApi.as_view(), name="login-token"),
    path("me", account.MeApi.as_view(), name="me"),
    path("me/export", account.ExportApi.as_view(), name="me-export"),
    path("profiles", profiles.ProfileListCreateApi.as_view(), name="profiles"),
    path("profiles/<int:profile_id>", profiles.ProfileDetailApi.as_view(), name="profile"),
    path(
        "profiles/<int:profile_id>/avatar",
        profiles.ProfileAvatarApi.as_view(),
        name="profile-avatar",
    ),
    path("profiles/<int:profile_id>/pin", profiles.ProfilePinApi.as_view(), name="profile-pin"),
    path(
        "profiles/<int:profile_id>/verify-pin",
        profiles.ProfileVerifyPinApi.as_view(),
        name="profile-verify-pin",
    ),
    path(
        "profiles/<int:profile_id>/switch",
        profiles.ProfileSwitchApi.as_view(),
        name="profile-switch",
    ),
    path("sessions", devices.SessionListApi.as_view(), name="sessions"),
    path("sessions/revoke-all", devices.SessionRevokeAllApi.as_view(), name="sessions-revoke-all"),
    path("sessions/<int:session_id>", devices.SessionRevokeApi.as_view(), name="session-revoke"),
    path("tokens", tokens.TokenListCreateApi.as_view(), name="tokens"),
    path("tokens/<int:token_id>", tokens.TokenRevokeApi.as_view(), name="token-revoke"),
]
