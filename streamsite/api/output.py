"""An output serializer's representation of a plain dict, its fields built once per process.

DRF builds a serializer's fields for every instance (a deep copy of each declared field), which
on a response of many fields costs more than representing them. `Representer(SomeSerializer)`
builds them once and answers what `SomeSerializer(payload).data` answers for a dict `payload`:
each field's `to_representation`, None kept as None. The serializer class stays what the
schema documents; only flat field-to-key serializers qualify (checked when built).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class Representer:
    def __init__(self, serializer_class: type[serializers.Serializer]) -> None:
        fields = serializer_class().fields
        for name, field in fields.items():
            if (
                field.write_only
                or field.source != name
                or isinstance(field, serializers.BaseSerializer)
            ):
                raise TypeError(f"{serializer_class.__name__}.{name} is not a plain key")
        self._fields = list(fields.items())

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            name: None if (value := payload[name]) is None else field.to_representation(value)
            for name, field in self._fields
        }
