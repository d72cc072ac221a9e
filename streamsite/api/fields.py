"""Serializer fields for numbers and timestamps at the input boundary: finite and within range."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django.http import QueryDict
from rest_framework import serializers

from streamsite.input_boundary import TIMESTAMP_RANGE_MESSAGE, timestamp_in_range

INT64_MAX = 2**63 - 1
# The longest media position or duration accepted (a week: far beyond any title, and within a
# 32-bit seconds column).
MEDIA_SECONDS_MAX = 7 * 24 * 3600


class FiniteFloatField(serializers.FloatField):
    """A FloatField that refuses NaN and ±Infinity (which a form body spells "nan", "inf")."""

    default_error_messages = {"not_finite": "A finite number is required."}

    def to_internal_value(self, data: Any) -> float:
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("not_finite")
        return float(value)


def media_seconds(**kwargs: Any) -> FiniteFloatField:
    """A position or duration in seconds: finite, 0 to MEDIA_SECONDS_MAX."""
    return FiniteFloatField(min_value=0, max_value=MEDIA_SECONDS_MAX, **kwargs)


def sequence_number(**kwargs: Any) -> serializers.IntegerField:
    """A client sequence number stored in a BigIntegerField: 0 to 2**63-1."""
    return serializers.IntegerField(min_value=0, max_value=INT64_MAX, **kwargs)


class TimestampField(serializers.DateTimeField):
    """An aware date-time from 1970-01-01T00:00:00Z up to (not including) 2100-01-01."""

    default_error_messages = {"out_of_range": TIMESTAMP_RANGE_MESSAGE}

    def to_internal_value(self, value: Any) -> datetime:
        try:
            parsed = super().to_internal_value(value)
        except OverflowError:  # a shift past year 9999 while making it aware
            self.fail("out_of_range")
        if not timestamp_in_range(parsed):
            self.fail("out_of_range")
        return parsed


def timestamp(**kwargs: Any) -> TimestampField:
    """A client-sent date-time (streamsite.input_boundary.timestamp_in_range; else 400)."""
    kwargs.setdefault(
        "help_text", "From 1970-01-01T00:00:00Z up to (not including) 2100-01-01T00:00:00Z."
    )
    return TimestampField(**kwargs)


def refuse_numbers_as_text() -> None:
    """Text fields take text. DRF's CharField (and EmailField, SlugField ... built on it) would
    turn a JSON number into a string ("email": 0 is "0"); the schema says string, so a number
    there is a field error like any other wrong type. Called once, from StreamsiteConfig.ready."""
    accept = serializers.CharField.to_internal_value
    if getattr(accept, "refuses_numbers", False):
        return

    def to_internal_value(self: serializers.CharField, data: Any) -> str:
        if isinstance(data, int | float):  # bool too: it is an int
            self.fail("invalid")
        return accept(self, data)

    to_internal_value.refuses_numbers = True  # type: ignore[attr-defined]
    serializers.CharField.to_internal_value = to_internal_value  # type: ignore[method-assign,assignment]

    # Likewise a JSON boolean is true or false, not 0, 1 or "yes" (a form's text still parses).
    accept_bool = serializers.BooleanField.to_internal_value

    def bool_to_internal_value(self: serializers.BooleanField, data: Any) -> bool:
        from_json = not isinstance(getattr(self.root, "initial_data", None), QueryDict)
        if from_json and not isinstance(data, bool):
            self.fail("invalid", input=data)
        return accept_bool(self, data)

    serializers.BooleanField.to_internal_value = bool_to_internal_value  # type: ignore[method-assign,assignment]
