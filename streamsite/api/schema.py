"""The OpenAPI schema: what every operation can answer at the boundary, links, the probes.

drf-spectacular documents what each view declares; the input boundary, the throttles, the
authentication, object look-ups and pagination answer the same way for every view, so their
status codes are added here once, in the API's one error shape. Links tell a client (and
schemathesis's stateful phase) where a created object's id goes next. The health probes and
the master playlist third-party players fetch are plain Django views, so their paths are added
by hand.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.plumbing import is_serializer

from streamsite.api.serializers import InputSerializer


class AutoSchema(openapi.AutoSchema):
    """Request bodies as the views validate them: JSON wherever a view parses JSON (the API
    also parses forms, for browsers and the stop beacon, but a form cannot say `null` or nest,
    so it is not the contract); multipart where a view takes only uploads; closed
    (`additionalProperties: false`) where the serializer refuses fields it does not declare,
    which every request body's serializer does (streamsite.api.serializers.InputSerializer)."""

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, InputSerializer):
            schema["additionalProperties"] = False
        return schema

    def map_parsers(self) -> list[Any]:
        media_types = super().map_parsers()
        return ["application/json"] if "application/json" in media_types else media_types

    def _get_request_body(self, direction: str = "request") -> Any:
        # A DELETE that validates a body (DELETE /me asks for the password) documents it.
        if self.method != "DELETE" or not is_serializer(self.get_request_serializer()):
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


ERROR = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "code", "message"],
            "properties": {
                "status": {"type": "integer"},
                "code": {"type": "string"},
                "message": {"type": "string"},
                # Field name -> messages; a list field's map is by item index.
                "fields": {"type": "object"},
                "retry_after": {"type": "integer"},
            },
        }
    },
}
BOUNDARY = {
    "400": "Invalid input: a field error, a NUL or non-Unicode text, a number out of range, "
    "JSON nested too deep.",
    "413": "The request body is larger than INPUT_MAX_BODY_BYTES.",
    "429": "Too many requests; `error.retry_after` says when to try again.",
}
AUTHENTICATED = {
    "401": "Not signed in, or an invalid, expired or revoked token.",
    "403": "Signed in but not allowed (another account's object, a locked or kids profile).",
}
# What a view answers besides its success, the boundary and authentication: by operation id.
DECLARED = {
    "auth_token_create": {
        "401": "Wrong email or password (the same answer for an unknown address).",
        "403": "Two-factor code required or wrong, or the address is not confirmed yet.",
    },
    "my_list_create": {"404": "No such title."},
    "billing_subscription_create": {"409": "The account already has a subscription."},
    "billing_webhooks_create": {"415": "The body is not JSON."},
    "playback_sessions_heartbeat_create": {"409": "The session has ended: start a new one."},
    "playback_sessions_create": {
        "404": "No such title or episode.",
        "409": "The plan's stream limit is reached (`error.sessions` names the devices).",
    },
}
INT64 = {"minimum": -(2**63), "maximum": 2**63 - 1}
NOT_FOUND_OBJECT = "No such object, or not one of yours (another account's is not found either)."
NOT_FOUND_PAGE = "No such page."
PLAYLIST = "/playback/t/{key}/{signature}/{expires}/session/{session_id}/master.m3u8"
HEALTH = {
    "/healthz": ("Liveness: the process answers", {"200": "Up."}),
    "/readyz": (
        "Readiness: database, cache and broker reachable, and the cache this site's",
        {"200": "Ready.", "503": "Not ready; `failed` names the checks that failed."},
    ),
}


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR}"}}},
    }


def _path_of(result: dict[str, Any], operation: dict[str, Any]) -> str:
    for path, item in result["paths"].items():
        if any(op is operation for op in item.values()):
            return path
    return ""


def _is_paginated(responses: dict[str, Any]) -> bool:
    schema = responses.get("200", {}).get("content", {}).get("application/json", {})
    return str(schema.get("schema", {}).get("$ref", "")).startswith(
        "#/components/schemas/Paginated"
    )


_PARAMETER = re.compile(r"\{(\w+)\}")


def _body_properties(result: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = str(schema.get("$ref", ""))
    if ref:
        schema = result["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return dict(schema.get("properties", {}))


def _add_links(result: dict[str, Any]) -> None:
    """Create -> read/update/delete: a 201 from POST /x links to every operation on /x/{name}
    (and below it), passing the created body's `name`, its `title.id` for `title_id`, or its
    `id`."""
    paths = result["paths"]
    for path, item in paths.items():
        created = item.get("post", {}).get("responses", {}).get("201")
        if created is None or "{" in path:
            continue
        body = _body_properties(result, created)
        for child, child_item in paths.items():
            names = _PARAMETER.findall(child)
            if len(names) != 1 or not child.startswith(f"{path}/{{{names[0]}}}"):
                continue
            name = names[0]
            if name in body:
                source = name
            elif name.endswith("_id") and name.removesuffix("_id") in body:
                source = f"{name.removesuffix('_id')}/id"  # {"title": {"id": ...}}
            elif "id" in body:
                source = "id"
            else:
                continue
            links = created.setdefault("links", {})
            for method, operation in child_item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    links[operation["operationId"]] = {
                        "operationId": operation["operationId"],
                        "parameters": {names[0]: f"$response.body#/{source}"},
                    }


def _empty_means_omitted(operation: dict[str, Any]) -> None:
    """DRF reads an optional query parameter sent empty (`?ordering=`) as not sent: document
    the empty value as allowed."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        if (
            parameter["in"] != "query"
            or parameter.get("required")
            or schema.get("type") != "string"
        ):
            continue
        if schema.get("minLength") == 1:
            del schema["minLength"]
        pattern = schema.get("pattern")
        if pattern and pattern.startswith("^") and pattern.endswith("$"):
            schema["pattern"] = f"^(?:{pattern[1:-1]})?$"
        if "enum" in schema and "" not in schema["enum"]:
            schema["enum"] = [*schema["enum"], ""]


def _bound_integers(node: Any) -> None:
    """Every integer fits 64 bits (the input boundary refuses others): say so where a field or
    parameter names no tighter bound."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            for key, value in INT64.items():
                node.setdefault(key, value)
        for value in node.values():
            _bound_integers(value)
    elif isinstance(node, list):
        for value in node:
            _bound_integers(value)


def _playlist_path() -> dict[str, Any]:
    """The per-session master playlist: its URL (a signed path a client copies and never
    builds) comes from `master_playlist_url` when playback starts."""
    return {
        "get": {
            "operationId": "playback_master_playlist",
            "summary": "A playback session's master playlist (HLS)",
            "description": "Fetch exactly the `master_playlist_url` that POST "
            "/api/v1/playback/sessions answered: its path carries the link's key, signature, "
            "expiry and session (`t/<key><binding>/<signature>/<expires>/session/<id>`, signed "
            "like every media URL, bound to the client's address when binding is on). The "
            "playlist lists the renditions the plan allows, each once per ranked edge.",
            "tags": ["playback"],
            "security": [{}],
            "parameters": [
                *(
                    {
                        "in": "path",
                        "name": name,
                        "required": True,
                        "description": "Copied from `master_playlist_url`, never built.",
                        "schema": schema,
                    }
                    for name, schema in (
                        ("key", {"type": "string"}),
                        ("signature", {"type": "string"}),
                        ("expires", {"type": "integer", **INT64}),
                        ("session_id", {"type": "string", "format": "uuid"}),
                    )
                ),
            ],
            "responses": {
                "200": {
                    "description": "The master playlist.",
                    "content": {"application/vnd.apple.mpegurl": {"schema": {"type": "string"}}},
                },
                "400": _error_response(BOUNDARY["400"]),
                "403": {
                    "description": "The link is not valid, has expired, or its session lost "
                    "its stream slot."
                },
                "404": {"description": "No such playback session, or it has ended."},
                "429": _error_response(BOUNDARY["429"]),
            },
        }
    }


def add_boundary_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR] = ERROR_SCHEMA
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            codes = dict(BOUNDARY)
            if "requestBody" not in operation:
                codes.pop("413")
            if operation.get("security") != [{}] and {} not in operation.get("security", []):
                codes.update(AUTHENTICATED)
            if "{" in _path_of(result, operation):
                codes["404"] = NOT_FOUND_OBJECT
            if _is_paginated(responses):
                codes["404"] = NOT_FOUND_PAGE
            codes.update(DECLARED.get(operation.get("operationId", ""), {}))
            _empty_means_omitted(operation)
            for code, description in codes.items():
                responses.setdefault(code, _error_response(description))
    _add_links(result)
    _bound_integers(result)
    result["paths"][PLAYLIST] = _playlist_path()
    for path, (summary, codes) in HEALTH.items():
        result["paths"][path] = {
            "get": {
                "operationId": path.strip("/"),
                "summary": summary,
                "tags": ["operations"],
                "security": [{}],
                "responses": {
                    code: {
                        "description": description,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                    for code, description in codes.items()
                },
            }
        }
    return result
