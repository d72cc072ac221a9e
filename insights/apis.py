"""Staff API: every dashboard chart as JSON (the same datasets as the page and CSV files)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from insights import selectors
from insights.views import may_see_chart
from streamsite import roles
from streamsite.api.permissions import staff_rule
from streamsite.errors import NotFound, PermissionDenied

CanViewDashboard = staff_rule(
    roles.can_view_dashboard, "The operators' dashboard needs the view_dashboard permission."
)


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
        return Response([name for name in selectors.NAMES if may_see_chart(request.user, name)])


class ChartDetailApi(APIView):
    permission_classes = [CanViewDashboard]

    @extend_schema(responses=ChartOutputSerializer, summary="One dashboard chart's data (staff)")
    def get(self, request: Request, name: str) -> Response:
        if not may_see_chart(request.user, name):
            raise PermissionDenied("This chart needs the revenue permission.")
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
