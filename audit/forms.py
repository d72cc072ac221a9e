"""The staff search of the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditSearchForm(forms.Form):
    actor = forms.CharField(
        label=_("Actor"), required=False, max_length=254, help_text=_("Email (part) or user id")
    )
    action = forms.RegexField(
        regex=r"^[a-z0-9_.]*$",
        label=_("Action"),
        required=False,
        max_length=64,
        help_text=_("e.g. auth. or role.change"),
    )
    object_type = forms.RegexField(
        regex=r"^[a-z0-9_]+\.[a-z0-9_]+$",
        label=_("Object type"),
        required=False,
        max_length=100,
        help_text="app.model",
    )
    object_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    since = forms.DateField(
        label=_("Since"), required=False, help_text=_("From this day (UTC), inclusive")
    )
    until = forms.DateField(
        label=_("Until"), required=False, help_text=_("To this day (UTC), inclusive")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("The start day is after the end day."))
        return data

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data

        def day(value: dt.date | None, plus: int = 0) -> dt.datetime | None:
            if value is None:
                return None
            start = dt.datetime.combine(value + dt.timedelta(days=plus), dt.time.min)
            return timezone.make_aware(start, dt.UTC)

        return {
            "actor": data.get("actor", "").strip(),
            "action": data.get("action", ""),
            "object_type": data.get("object_type", ""),
            "object_id": data.get("object_id", "").strip(),
            "since": day(data.get("since")),
            "until": day(data.get("until"), plus=1),
        }
