from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from accounts import receivers

        user_logged_in.connect(receivers.record_login, dispatch_uid="accounts.record_login")
        user_logged_out.connect(receivers.forget_logout, dispatch_uid="accounts.forget_logout")
        receivers.connect_auth_changes()
