"""Browser forms: input shape only; the rules live in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts import avatars
from accounts.models import Maturity
from streamsite.errors import ValidationFailed
from streamsite.input_boundary import TIMESTAMP_RANGE_MESSAGE, timestamp_in_range


class Form(forms.Form):
    """Marks invalid fields for assistive technology and takes errors from services."""

    def full_clean(self) -> None:
        super().full_clean()
        self.mark_errors()

    def mark_errors(self) -> None:
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"id_{name}_error"

    def add_service_error(self, exc: ValidationFailed) -> None:
        fields: dict[str, Any] = exc.extra.get("fields", {})
        placed = False
        for name, messages in fields.items():
            if name in self.fields:
                for message in messages if isinstance(messages, list) else [messages]:
                    self.add_error(name, message)
                placed = True
        if not placed:
            self.add_error(None, exc.message)
        self.mark_errors()


def _password(label: Any = None, autocomplete: str = "current-password") -> forms.CharField:
    return forms.CharField(
        label=label or _("Password"),
        strip=False,
        max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


class SignupForm(Form):
    email = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = _password(autocomplete="new-password")
    profile_name = forms.CharField(
        label=_("Your name"),
        max_length=50,
        required=False,
        help_text=_("Your first viewer profile."),
    )


class LoginForm(Form):
    email = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = _password()


class CodeForm(Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The 6-digit code from your authenticator app, or a recovery code."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class EmailForm(Form):
    email = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class SetPasswordForm(Form):
    password = _password(_("New password"), "new-password")


class PasswordChangeForm(Form):
    old_password = _password(_("Current password"))
    new_password = _password(_("New password"), "new-password")
    keep_api_tokens = forms.BooleanField(
        required=False,
        label=_("Keep my API tokens working"),
        help_text=_("Unticked (the default), every API token is revoked with the old password."),
    )


class EmailChangeForm(Form):
    new_email = forms.EmailField(label=_("New email address"))
    password = _password(_("Your password"))


class PasswordOnlyForm(Form):
    password = _password(_("Your password"))


AVATAR_CHOICES = [(name, name.title()) for name in avatars.BUILTIN]


class ProfileForm(Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    maturity = forms.TypedChoiceField(
        label=_("Maturity"),
        choices=Maturity.choices,
        coerce=int,
        initial=Maturity.ADULTS,
        help_text=_(
            "Kids: G, TV-Y, TV-Y7, TV-G. Teens: also PG, PG-13, TV-PG, TV-14. "
            "Adults: everything, including R, NC-17 and TV-MA."
        ),
    )
    is_kids = forms.BooleanField(
        label=_("Kids profile"),
        required=False,
        help_text=_(
            "A simpler page, Kids titles only, and no managing of profiles or the account."
        ),
    )
    # Each language named in itself, so a viewer can find theirs whatever the page is in.
    language = forms.ChoiceField(
        label=_("Language"),
        choices=settings.LANGUAGES,
        initial="en",
        help_text=_("The language of the pages this profile sees."),
    )
    avatar = forms.ChoiceField(
        label=_("Avatar"), choices=AVATAR_CHOICES, widget=forms.RadioSelect, required=False
    )


class AvatarUploadForm(Form):
    image = forms.FileField(
        label=_("Upload a picture"),
        help_text=_("PNG, JPEG, GIF or WebP up to 5 MB; cropped square."),
    )


class PinSetForm(Form):
    pin = forms.RegexField(
        r"^\d{4}$",
        label=_("New PIN"),
        required=False,
        max_length=4,
        help_text=_("4 digits. Leave empty to remove the PIN."),
        error_messages={"invalid": _("A PIN is exactly 4 digits.")},
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    password = _password(_("Your account password"))


class PinForm(Form):
    pin = forms.CharField(
        label=_("PIN"),
        max_length=4,
        widget=forms.PasswordInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "autofocus": True}
        ),
    )


class TokenForm(Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("Where you will use it, e.g. “Kodi”.")
    )
    expires_at = forms.DateTimeField(
        label=_("Expires"),
        required=False,
        help_text=_("Optional. Leave empty for a token that lasts until revoked."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def clean_expires_at(self):
        value = self.cleaned_data.get("expires_at")
        if value is not None and not timestamp_in_range(value):
            raise forms.ValidationError(TIMESTAMP_RANGE_MESSAGE)
        return value
