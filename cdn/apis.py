"""REST API of the cdn app: the steering endpoint (operations staff or service accounts holding
cdn.use_steering) and topology (staff who may see the CDN)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cdn import selectors
from cdn.steering import steer
from streamsite import roles
from streamsite.api.permissions import staff_rule
from streamsite.api.serializers import InputSerializer

# Operations staff, or a service account, holding `cdn.use_steering`.
CanSteer = staff_rule(
    roles.can_steer,
    "Only operations staff or service accounts holding cdn.use_steering may ask for steering.",
)


class SteerInputSerializer(InputSerializer):
    client_ip = serializers.IPAddressField()
    content_key = serializers.RegexField(
        r"^hls/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/$",
        error_messages={"invalid": "Expected hls/<asset>/<version>/."},
    )
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, allow_null=True)
    count = serializers.IntegerField(min_value=1, max_value=10, default=3)


class SteeringDecisionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    located_by = serializers.CharField()
    site = serializers.CharField(allow_null=True)
    urls = serializers.ListField(child=serializers.CharField())
    edges = serializers.ListField(child=serializers.CharField())
    reasons = serializers.ListField(child=serializers.CharField())


DECISION_FIELDS = tuple(SteeringDecisionSerializer().fields)


class SteerApi(APIView):
    permission_classes = [CanSteer]

    @extend_schema(
        request=SteerInputSerializer,
        responses=SteeringDecisionSerializer,
        summary="Ranked edge base URLs for a client and a content key (origin last)",
    )
    def post(self, request: Request) -> Response:
        data = SteerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decision = steer(**data.validated_data).as_dict()
        # The documented fields, without a serializer pass: this endpoint is on every playback.
        return Response({name: decision[name] for name in DECISION_FIELDS})


class EdgeSerializer(serializers.Serializer):
    name = serializers.CharField()
    base_url = serializers.CharField()
    admin_state = serializers.CharField()
    healthy = serializers.BooleanField()
    load = serializers.FloatField()
    weight = serializers.FloatField()
    capacity = serializers.IntegerField()
    hit_ratio = serializers.FloatField(allow_null=True)


class SiteSerializer(serializers.Serializer):
    name = serializers.CharField()
    tier = serializers.CharField()
    country = serializers.CharField()
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    timezone = serializers.CharField()
    backups = serializers.SerializerMethodField()
    edges = serializers.SerializerMethodField()

    def get_backups(self, site) -> list[str]:
        return [b.name for b in site.backups.all()]

    @extend_schema_field(EdgeSerializer(many=True))
    def get_edges(self, site) -> list[dict]:
        return list(EdgeSerializer(site.edges.all(), many=True).data)


class TopologyApi(APIView):
    permission_classes = [staff_rule(roles.can_view_cdn)]

    @extend_schema(responses=SiteSerializer(many=True), summary="Sites and edges (staff)")
    def get(self, request: Request) -> Response:
        return Response(SiteSerializer(selectors.site_list(), many=True).data)
