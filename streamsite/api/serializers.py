"""The base of every request body's serializer: a body may carry only the fields it declares.

A field the serializer does not name is refused with 400 and a field error ("Unknown field."),
not ignored: a misspelt optional field would otherwise be dropped without a word, and the
schema says the same (`streamsite.api.schema` marks these bodies `additionalProperties: false`).
Query-parameter serializers do not use it: clients and proxies may add query parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

UNKNOWN_FIELD = _("Unknown field.")
# Django's CSRF middleware reads the token from a browser's form body (the stop beacon sends
# one): transport, not a field of the body.
FORM_TRANSPORT_FIELDS = frozenset({"csrfmiddlewaretoken"})


class InputSerializer(serializers.Serializer):
    """A request body (or an object nested in one) that refuses fields it does not declare."""

    def unknown_fields(self, data: Any) -> dict[str, list[str]]:
        if not isinstance(data, Mapping):
            return {}  # not an object: the field validation answers
        declared = {name for name, field in self.fields.items() if not field.read_only}
        if isinstance(data, QueryDict):
            declared |= FORM_TRANSPORT_FIELDS
        return {
            str(name): [str(UNKNOWN_FIELD)]
            for name in sorted(map(str, data))
            if name not in declared
        }

    def to_internal_value(self, data: Any) -> Any:
        unknown = self.unknown_fields(data)
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            # One answer names every problem: the declared fields' errors and the unknown ones.
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value
