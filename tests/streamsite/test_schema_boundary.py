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
