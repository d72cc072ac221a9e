"""The base of every request body's serializer: a body may carry only the fields it declares.

A field the serializer does not name is refused with 400 and a field error ("Unknown field."),
not ignored: a misspelt optional field would otherwise be dropped without a word, and the
schema says the same (`streamsite.api.schema` marks these bodies `additionalProperties: false`).
Query-parameter serializers do not use it: clients and proxies may add query parameters.

DRF builds a serializer's fields for every instance (a deep copy of each declared one), which
cost a playback start more than validating its four fields (docs/benchmarks.md). A top-level,
non-partial JSON body of plain fields validates with fields built once per class instead
(`_shared_fields`), bound to a template instance with no data and no context: validating a
plain field reads nothing from its serializer but the root's `partial` (False for these) and
whether the root's data is a form (BooleanField, streamsite.api.fields: a JSON body's answer is
the template's), and never writes to the field, so one set of fields serves every request and
thread. A form body, or one with a nested serializer, a related field, a hidden field, or a
default or validator that reads the context, builds its own fields, as DRF does.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from rest_framework import relations, serializers

UNKNOWN_FIELD = _("Unknown field.")
# Django's CSRF middleware reads the token from a browser's form body (the stop beacon sends
# one): transport, not a field of the body.
FORM_TRANSPORT_FIELDS = frozenset({"csrfmiddlewaretoken"})


_NOT_PLAIN = (
    serializers.BaseSerializer,
    serializers.HiddenField,
    serializers.SerializerMethodField,
    relations.RelatedField,
    relations.ManyRelatedField,
)
_shared: dict[type[serializers.Serializer], Any] = {}  # class -> its fields, or None: not plain
_shared_lock = threading.Lock()


def _plain(field: serializers.Field) -> bool:
    children = [getattr(field, "child", None), getattr(field, "child_relation", None)]
    return (
        not isinstance(field, _NOT_PLAIN)
        and not getattr(field.default, "requires_context", False)
        and not any(getattr(v, "requires_context", False) for v in field.validators)
        and all(child is None or _plain(child) for child in children)
    )


def _shared_fields(serializer_class: type[serializers.Serializer]) -> Any:
    """The class's fields built once (bound to a template instance), or None when one of them
    is not plain, or the class builds its fields its own way (per instance, perhaps)."""
    if serializer_class not in _shared:
        fields = None
        if (
            serializer_class.__init__ is serializers.Serializer.__init__
            and serializer_class.get_fields is serializers.Serializer.get_fields
        ):
            template = serializer_class()
            fields = serializers.Serializer.fields.func(template)  # type: ignore[attr-defined]
            if not all(_plain(field) for field in fields.values()):
                fields = None
        with _shared_lock:
            _shared.setdefault(serializer_class, fields)
    return _shared[serializer_class]


class InputSerializer(serializers.Serializer):
    """A request body (or an object nested in one) that refuses fields it does not declare."""

    @cached_property
    def fields(self) -> Any:  # type: ignore[override]
        form = isinstance(getattr(self, "initial_data", None), QueryDict)
        if self.parent is None and not self.partial and not form:
            shared = _shared_fields(type(self))
            if shared is not None:
                return shared
        return serializers.Serializer.fields.func(self)  # type: ignore[attr-defined]

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
