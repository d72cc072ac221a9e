"""The schema documents what every operation can answer before its view runs, and the probes."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_anonymous_operation_with_a_body_documents_400_413_429(schema):
    responses = schema["paths"]["/api/v1/auth/signup"]["post"]["responses"]
    assert sorted(responses) == ["202", "400", "413", "429"]
    assert responses["413"]["content"] == ERROR_REF


def test_authenticated_operation_without_a_body_documents_401_403_and_no_413(schema):
    responses = schema["paths"]["/api/v1/me"]["get"]["responses"]
    assert sorted(responses) == ["200", "400", "401", "403", "429"]
    assert responses["401"]["content"] == ERROR_REF


def test_the_error_shape_is_a_component(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert error["properties"]["error"]["required"] == ["status", "code", "message"]


def test_health_probes_are_in_the_schema(schema):
    assert sorted(schema["paths"]["/healthz"]["get"]["responses"]) == ["200"]
    assert sorted(schema["paths"]["/readyz"]["get"]["responses"]) == ["200", "503"]
    assert schema["paths"]["/readyz"]["get"]["security"] == [{}]


# The gateway's signed event: its fields are the gateway's (Stripe adds some without notice),
# so the body is any object, declared as such; its signature is the check.
OPEN_BODIES = {"billing_webhooks_create"}


def _resolve(schema, node):
    ref = node.get("$ref", "")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else node


def _objects_within(schema, node, seen):
    """Every object schema in a request body, nested ones included (through $ref and items)."""
    node = _resolve(schema, node)
    if id(node) in seen:
        return
    seen.add(id(node))
    if node.get("type") == "object" or "properties" in node:
        yield node
    items = [node["items"]] if "items" in node else []
    for child in [*node.get("properties", {}).values(), *items]:
        for part in [child, *child.get("allOf", []), *child.get("oneOf", [])]:
            yield from _objects_within(schema, part, seen)


def test_every_request_body_is_closed(schema):
    """Every body refuses what it does not declare (streamsite.api.serializers.InputSerializer)
    and says so: a serializer that is not an InputSerializer shows here as an open body."""
    with_body, checked, open_bodies = set(), set(), set()
    for item in schema["paths"].values():
        for operation in item.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if body is None:
                continue
            with_body.add(operation["operationId"])
            for content in body["content"].values():
                for node in _objects_within(schema, content["schema"], set()):
                    checked.add(operation["operationId"])
                    if node.get("additionalProperties") is not False:
                        open_bodies.add(operation["operationId"])
    assert checked == with_body  # every body is an object, and each was looked at
    assert "playback_sessions_heartbeat_create" in checked
    assert open_bodies == OPEN_BODIES


def test_a_nested_request_object_is_closed(schema):
    heartbeat = schema["components"]["schemas"]["HeartbeatInputRequest"]
    assert heartbeat["additionalProperties"] is False
    assert heartbeat["properties"]["qoe"]["allOf"] == [
        {"$ref": "#/components/schemas/QoeReportRequest"}
    ]
    assert schema["components"]["schemas"]["QoeReportRequest"]["additionalProperties"] is False


def test_response_components_are_not_closed_by_the_rule(schema):
    # A client must tolerate fields added to answers: only request bodies are closed.
    assert "additionalProperties" not in schema["components"]["schemas"]["TokenCreated"]
