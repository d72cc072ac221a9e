"""OpenAPI post-processing: what every operation can answer at the boundary, and the probes.

drf-spectacular documents what each view declares; the input boundary, the throttles and the
authentication answer before any view runs, so their status codes are added here once for
every operation, in the API's one error shape. The health probes are plain Django views (they
must work without DRF), so their paths are added by hand.
"""

from __future__ import annotations

from typing import Any

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
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
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
HEALTH = {
    "/healthz": ("Liveness: the process answers", {"200": "Up."}),
    "/readyz": (
        "Readiness: database, cache and broker reachable",
        {"200": "Ready.", "503": "Not ready; `failed` names the checks that failed."},
    ),
}


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR}"}}},
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
            for code, description in codes.items():
                responses.setdefault(code, _error_response(description))
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
