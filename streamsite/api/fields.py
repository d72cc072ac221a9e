"""Serializer fields for numbers at the input boundary: finite and within a column's range."""

from __future__ import annotations

import math
from typing import Any

from rest_framework import serializers

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
