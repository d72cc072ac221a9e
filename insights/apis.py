"""Staff API: every dashboard chart as JSON (the same datasets as the page and CSV files)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from insights import selectors
from insights.permissions import can_view_dashboard
from streamsite.errors import NotFound


class CanViewDashboard(BasePermission):
    message = "The operators' dashboard needs the view_dashboard permission."

    def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        return can_view_dashboard(request.user)


class ChartOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField())
    notes = serializers.ListField(child=serializers.CharField())


class ChartListApi(APIView):
    permission_classes = [CanViewDashboard]

    @extend_schema(
        responses=serializers.ListSerializer(child=serializers.CharField()),
        summary="Dashboard charts (staff)",
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.NAMES)


class ChartDetailApi(APIView):
    permission_classes = [CanViewDashboard]

    @extend_schema(responses=ChartOutputSerializer, summary="One dashboard chart's data (staff)")
    def get(self, request: Request, name: str) -> Response:
        data = selectors.dataset(name)
        if data is None:
            raise NotFound("No such chart.")
        return Response(
            ChartOutputSerializer(
                {
                    "name": data.name,
                    "title": data.title,
                    "columns": data.columns,
                    "rows": [list(row) for row in data.rows],
                    "notes": data.notes,
                }
            ).data
        )
