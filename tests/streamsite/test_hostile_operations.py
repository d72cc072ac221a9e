"""Every API operation in the OpenAPI schema, sent hostile input: never a server error, and the
boundary's refusals (NUL, deep JSON) always in the one error shape (issue 16, item 1)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts import services as account_services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

_SCHEMA: dict[str, Any] = SchemaGenerator().get_schema(request=None, public=True)
METHODS = ("get", "post", "put", "patch", "delete")
OPERATIONS = [
    (path, method)
    for path, item in sorted(_SCHEMA["paths"].items())
    for method in METHODS
    if method in item
]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = _SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}}
        for part in schema["allOf"]:
            merged["properties"].update(_resolve(part).get("properties", {}))
        return merged
    return schema


def _url(path: str, operation: dict[str, Any]) -> str:
    for param in operation.get("parameters", []):
        if param["in"] != "path":
            continue
        kind = param.get("schema", {})
        value = (
            str(uuid.UUID(int=1))
            if kind.get("format") == "uuid"
            else "1"
            if kind.get("type") == "integer"
            else "x"
        )
        path = path.replace("{" + param["name"] + "}", value)
    return path


def _properties(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    content = operation.get("requestBody", {}).get("content", {})
    for media in ("application/json", "multipart/form-data", "application/x-www-form-urlencoded"):
        if media in content:
            return {
                name: _resolve(prop)
                for name, prop in _resolve(content[media]["schema"]).get("properties", {}).items()
            }
    return {}


def _wrong_type(prop: dict[str, Any]) -> Any:
    return {
        "string": 12345,
        "integer": "abc",
        "number": "nan",
        "boolean": "maybe",
        "array": {"a": 1},
        "object": [1, 2],
    }.get(prop.get("type", "string"))


def _extreme(prop: dict[str, Any]) -> Any:
    kind = prop.get("type", "string")
    if kind == "string":
        if prop.get("format") == "date-time":
            return "9999-12-31T23:59:59Z"
        if prop.get("format") == "date":
            return "0001-01-01"
        return "\u00e9" * 20_000
    return {
        "integer": 2**63 - 1,
        "number": 1.7e308,
        "boolean": True,
        "array": [None] * 500,
        "object": {"k" * 200: None},
    }.get(kind)


@pytest.fixture
def viewer_api():
    """A subscribed staff viewer acting as its profile through an API token."""
    from tests.playback.sessions.conftest import subscribe

    user = UserFactory(email="hostile@example.com", is_staff=True, is_superuser=True)
    profile = account_services.profile_create(account=user, name="Hostile")
    subscribe(user)
    _, plaintext = account_services.api_token_create(user=user, name="hostile")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}", HTTP_X_PROFILE_ID=str(profile.pk))
    return api


def _send(api: APIClient, method: str, url: str, body: Any = None, *, raw: str | None = None):
    if raw is not None:
        return getattr(api, method)(url, data=raw, content_type="application/json")
    if body is None:
        return getattr(api, method)(url)
    return getattr(api, method)(url, data=json.dumps(body), content_type="application/json")


def test_the_schema_lists_the_operations():
    assert len(OPERATIONS) >= 60
    assert ("/api/v1/auth/signup", "post") in OPERATIONS


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_hostile_input_never_yields_a_server_error(viewer_api, path, method):
    operation = _SCHEMA["paths"][path][method]
    url = _url(path, operation)
    props = _properties(operation)
    query = [p for p in operation.get("parameters", []) if p["in"] == "query"]
    seen: list[tuple[str, int]] = []

    def check(label: str, response) -> None:
        seen.append((label, response.status_code))
        assert response.status_code < 500, (label, response.status_code, response.content[:300])

    # Query parameters: NUL always refused by the boundary; out-of-range values handled.
    nul = viewer_api.generic(method.upper(), url + "?x=a%00b")
    check("nul query", nul)
    assert nul.status_code == 400 and nul.json()["error"]["code"] == "invalid_text"
    if query:
        extremes = "&".join(f"{p['name']}=99999999999999999999999" for p in query)
        check("huge query", viewer_api.generic(method.upper(), f"{url}?{extremes}"))
        long = "&".join(f"{p['name']}={'x' * 5000}" for p in query)
        check("long query", viewer_api.generic(method.upper(), f"{url}?{long}"))
    if method in ("post", "put", "patch"):
        deep = _send(viewer_api, method, url, raw="[" * 1000 + "]" * 1000)
        check("deep json", deep)
        assert deep.status_code == 400 and deep.json()["error"]["code"] == "too_deep"
        check("empty", _send(viewer_api, method, url, {}))
        check("not an object", _send(viewer_api, method, url, [1, "a", None]))
        if props:
            check(
                "wrong types",
                _send(viewer_api, method, url, {k: _wrong_type(v) for k, v in props.items()}),
            )
            check(
                "extremes",
                _send(viewer_api, method, url, {k: _extreme(v) for k, v in props.items()}),
            )
            check("nulls", _send(viewer_api, method, url, dict.fromkeys(props)))
            numbers = [k for k, v in props.items() if v.get("type") in ("number", "integer")]
            if numbers:
                form = {k: "nan" for k in numbers}
                check("nan form", getattr(viewer_api, method)(url, form, format="multipart"))
    assert seen


TIMESTAMP_FIELDS = [
    (path, method, name)
    for path, method in OPERATIONS
    for name, prop in _properties(_SCHEMA["paths"][path][method]).items()
    if prop.get("format") == "date-time"
]


def test_the_schema_lists_the_client_sent_timestamps():
    assert sorted(TIMESTAMP_FIELDS) == [
        ("/api/v1/auth/token", "post", "expires_at"),
        ("/api/v1/tokens", "post", "expires_at"),
    ]


@pytest.mark.parametrize(
    ("path", "method", "field"),
    TIMESTAMP_FIELDS,
    ids=[f"{m} {p} {f}" for p, m, f in TIMESTAMP_FIELDS],
)
@pytest.mark.parametrize(
    "when",
    [
        "9999-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
    ],
)
def test_far_future_and_pre_epoch_timestamps_are_a_field_error(
    viewer_api, path, method, field, when
):
    body = {"name": "t"}  # each body only what it declares: a field it does not is refused
    if path == "/api/v1/auth/token":
        body.update(email="hostile@example.com", password="correct horse battery")
    response = _send(viewer_api, method, path, {**body, field: when})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (400, "invalid")
    assert list(error["fields"]) == [field]


def test_a_timestamp_within_the_range_is_accepted(viewer_api):
    response = _send(
        viewer_api, "post", "/api/v1/tokens", {"name": "t", "expires_at": "2099-12-31T23:59:59Z"}
    )
    assert response.status_code == 201
    assert response.json()["expires_at"] == "2099-12-31T23:59:59Z"


def test_the_token_page_refuses_a_far_future_expiry(client):
    user = UserFactory(email="page@example.com")
    client.force_login(user)
    response = client.post("/account/tokens/", {"name": "Far", "expires_at": "9999-12-31T23:59"})
    assert response.status_code == 400  # the form again, with its error
    assert "before 2100-01-01" in response.content.decode()
    assert not user.api_tokens.exists()
