"""Browser pages of the accounts app."""

from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/done/", views.signup_done, name="signup-done"),
    path("verify/<str:token>/", views.verify, name="verify"),
    path("login/", views.login, name="login"),
    path("login/code/", views.login_2fa, name="login-2fa"),
    path("login/unlock/<str:token>/", views.login_unlock, name="login-unlock"),
    path("logout/", views.logout, name="logout"),
    path("password-reset/", views.password_reset, name="password-reset"),
    path("password-reset/sent/", views.password_reset_done, name="password-reset-done"),
    path("reset/<str:uidb64>/<str:token>/", views.password_reset_confirm, name="reset-confirm"),
    path("profiles/", views.picker, name="picker"),
    path("profiles/manage/", views.profiles_manage, name="profiles-manage"),
    path("profiles/<int:profile_id>/switch/", views.profile_switch, name="profile-switch"),
    path("profiles/<int:profile_id>/edit/", views.profile_edit, name="profile-edit"),
    path("profiles/<int:profile_id>/avatar/", views.profile_avatar, name="profile-avatar"),
    path("profiles/<int:profile_id>/pin/", views.profile_pin, name="profile-pin"),
    path("profiles/<int:profile_id>/delete/", views.profile_delete, name="profile-delete"),
    path("avatars/<slug:name>.svg", views.avatar, name="avatar"),
    path("account/", views.account, name="account"),
    path("account/security/", views.security, name="security"),
    path("account/devices/", views.devices, name="devices"),
    path("account/devices/<int:session_id>/revoke/", views.device_revoke, name="device-revoke"),
    path("account/devices/revoke-all/", views.devices_revoke_all, name="devices-revoke-all"),
    path("account/tokens/", views.api_tokens, name="tokens"),
    path("account/tokens/<int:token_id>/revoke/", views.api_token_revoke, name="token-revoke"),
    path("account/export.json", views.export, name="export"),
    path("account/delete/", views.delete_account, name="delete"),
]
