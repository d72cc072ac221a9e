"""Browser pages of the accounts app."""

from django.urls import path

from accounts.views import account, profiles, sign_in

app_name = "accounts"

urlpatterns = [
    path("signup/", sign_in.signup, name="signup"),
    path("signup/done/", sign_in.signup_done, name="signup-done"),
    path("verify/<str:token>/", sign_in.verify, name="verify"),
    path("login/", sign_in.login, name="login"),
    path("login/code/", sign_in.login_2fa, name="login-2fa"),
    path("login/unlock/<str:token>/", sign_in.login_unlock, name="login-unlock"),
    path("logout/", sign_in.logout, name="logout"),
    path("password-reset/", sign_in.password_reset, name="password-reset"),
    path("password-reset/sent/", sign_in.password_reset_done, name="password-reset-done"),
    path("reset/<str:uidb64>/<str:token>/", sign_in.password_reset_confirm, name="reset-confirm"),
    path("profiles/", profiles.picker, name="picker"),
    path("profiles/manage/", profiles.profiles_manage, name="profiles-manage"),
    path("profiles/<int:profile_id>/switch/", profiles.profile_switch, name="profile-switch"),
    path("profiles/<int:profile_id>/edit/", profiles.profile_edit, name="profile-edit"),
    path("profiles/<int:profile_id>/avatar/", profiles.profile_avatar, name="profile-avatar"),
    path("profiles/<int:profile_id>/pin/", profiles.profile_pin, name="profile-pin"),
    path("profiles/<int:profile_id>/delete/", profiles.profile_delete, name="profile-delete"),
    path("avatars/<slug:name>.svg", profiles.avatar, name="avatar"),
    path("account/", account.account, name="account"),
    path("account/security/", account.security, name="security"),
    path("account/devices/", account.devices, name="devices"),
    path("account/devices/<int:session_id>/revoke/", account.device_revoke, name="device-revoke"),
    path("account/devices/revoke-all/", account.devices_revoke_all, name="devices-revoke-all"),
    path("account/tokens/", account.api_tokens, name="tokens"),
    path("account/tokens/<int:token_id>/revoke/", account.api_token_revoke, name="token-revoke"),
    path("account/export.json", account.export, name="export"),
    path("account/delete/", account.delete_account, name="delete"),
]
