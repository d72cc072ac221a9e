"""The QoE report a player sends inside a heartbeat or the stop beacon: closed, bounded."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from playback.services.qoe import QoeReport
from streamsite.api.fields import FiniteFloatField
from streamsite.api.serializers import InputSerializer

# Bounds are generous for one report (players send one per heartbeat, every 10 s): a report
# past them is a bug or a forgery, refused whole.
HOUR_MS = 3_600_000
MAX_REPORT_CHARS = 2048


class QoeReportSerializer(InputSerializer):
    startup_ms = serializers.IntegerField(
        required=False, min_value=0, max_value=600_000, help_text="Time to first frame, once."
    )
    played_ms = serializers.IntegerField(
        required=False, min_value=0, max_value=HOUR_MS, help_text="Playing time since last report."
    )
    avg_kbps = FiniteFloatField(
        required=False,
        min_value=0,
        max_value=200_000,
        help_text="Time-weighted bitrate of the renditions played over played_ms.",
    )
    stall_count = serializers.IntegerField(required=False, min_value=0, max_value=1000)
    stall_ms = serializers.IntegerField(required=False, min_value=0, max_value=HOUR_MS)
    switches = serializers.IntegerField(required=False, min_value=0, max_value=1000)
    level = serializers.IntegerField(
        required=False, min_value=0, max_value=63, help_text="Rendition playing now (0 lowest)."
    )
    dropped_frames = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000)
    fatal_errors = serializers.IntegerField(required=False, min_value=0, max_value=100)
    recovered_errors = serializers.IntegerField(required=False, min_value=0, max_value=1000)
    edge = serializers.RegexField(
        r"^[A-Za-z0-9.:\[\]-]{1,255}$",
        required=False,
        help_text="Host (and port) the media segments came from.",
    )


@extend_schema_field(QoeReportSerializer)
class QoeReportField(serializers.Field):
    """A QoE report: a JSON object, or (in a sendBeacon form body) the same object as a string."""

    default_error_messages = {
        "invalid": "A JSON object of QoE counters is required.",
        "too_long": f"At most {MAX_REPORT_CHARS} characters.",
    }

    def to_internal_value(self, data: Any) -> QoeReport:
        if isinstance(data, str):
            if len(data) > MAX_REPORT_CHARS:
                self.fail("too_long")
            try:
                data = json.loads(data)
            except ValueError:
                self.fail("invalid")
        if not isinstance(data, dict):
            self.fail("invalid")
        report = QoeReportSerializer(data=data)
        if not report.is_valid():
            raise serializers.ValidationError(report.errors)
        return QoeReport(**report.validated_data)

    def to_representation(self, value: Any) -> Any:
        return value.__dict__ if isinstance(value, QoeReport) else value
