"""Writes for accounts, by topic. Every important change to an account goes through here;
callers use `from accounts import services` and the names below."""

from __future__ import annotations

from accounts.services.api_tokens import (
    TOKEN_TOUCH_INTERVAL,
    api_token_create,
    api_token_revoke,
    api_token_touch,
)
from accounts.services.devices import (
    SESSION_TOUCH_INTERVAL,
    session_forget,
    session_rekey,
    session_revoke,
    session_touch,
    sessions_revoke_all,
)
from accounts.services.leaving import account_deactivate, account_delete
from accounts.services.passwords import (
    password_change,
    password_reset_confirm,
    password_reset_request,
    password_reset_send,
    password_reset_user,
)
from accounts.services.profiles import (
    PIN_LENGTH,
    profile_avatar_upload,
    profile_create,
    profile_delete,
    profile_pin_set,
    profile_pin_verify,
    profile_switch,
    profile_update,
)
from accounts.services.registration import (
    EMAIL_CHANGE_SALT,
    VERIFY_SALT,
    email_change_request,
    email_change_send,
    email_verification_send,
    email_verify,
    signup,
)
from accounts.services.sign_in import (
    KNOWN_DEVICE_SALT,
    LOGIN_FAILED,
    UNLOCK_SALT,
    UNLOCK_SECONDS,
    known_device_cookie,
    known_device_user_id,
    login_check,
    login_unlock,
    login_unlock_send,
)
from accounts.services.two_factor import (
    RECOVERY_CODE_COUNT,
    recovery_codes_regenerate,
    totp_begin,
    totp_confirm,
    totp_disable,
    totp_verify,
)

__all__ = [
    "EMAIL_CHANGE_SALT",
    "KNOWN_DEVICE_SALT",
    "LOGIN_FAILED",
    "PIN_LENGTH",
    "RECOVERY_CODE_COUNT",
    "SESSION_TOUCH_INTERVAL",
    "TOKEN_TOUCH_INTERVAL",
    "UNLOCK_SALT",
    "UNLOCK_SECONDS",
    "VERIFY_SALT",
    "account_deactivate",
    "account_delete",
    "api_token_create",
    "api_token_revoke",
    "api_token_touch",
    "email_change_request",
    "email_change_send",
    "email_verification_send",
    "email_verify",
    "known_device_cookie",
    "known_device_user_id",
    "login_check",
    "login_unlock",
    "login_unlock_send",
    "password_change",
    "password_reset_confirm",
    "password_reset_request",
    "password_reset_send",
    "password_reset_user",
    "profile_avatar_upload",
    "profile_create",
    "profile_delete",
    "profile_pin_set",
    "profile_pin_verify",
    "profile_switch",
    "profile_update",
    "recovery_codes_regenerate",
    "session_forget",
    "session_rekey",
    "session_revoke",
    "session_touch",
    "sessions_revoke_all",
    "signup",
    "totp_begin",
    "totp_confirm",
    "totp_disable",
    "totp_verify",
]
