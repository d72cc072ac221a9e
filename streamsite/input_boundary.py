"""The input boundary: what every request must be before any view or parser sees it.

Bodies are bounded in size (413) and JSON in nesting depth (400) before parsing, so a 1,000-deep
document cannot exhaust the parser's recursion. Text must be valid UTF-8 without NUL bytes in the
path, the query string and every body field (PostgreSQL cannot store NUL; the filesystem cannot
open it). Numbers must be finite and fit a 64-bit integer column (JSON numbers, and query or
form values written as integers). A refusal is the API's one
error shape, `{"error": {...}}`, with `fields` naming the offending field where there is one.
"""

from __future__ import annotations

import errno
import json
import math
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

from streamsite.api.exceptions import error_body

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
# Timestamps a client sends: none before the Unix epoch, none at or past 2100 (far beyond any
# token or schedule, and within every column, timezone shift and Unix-seconds conversion).
TIMESTAMP_MIN = datetime(1970, 1, 1, tzinfo=UTC)
TIMESTAMP_MAX = datetime(2100, 1, 1, tzinfo=UTC)
TIMESTAMP_RANGE_MESSAGE = gettext_lazy(
    "Ensure this date-time is from 1970-01-01T00:00:00Z and before 2100-01-01T00:00:00Z."
)


def timestamp_in_range(value: datetime) -> bool:
    """The one rule for every client-sent timestamp (API fields and page forms alike)."""
    return TIMESTAMP_MIN <= value < TIMESTAMP_MAX


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def response(self) -> HttpResponse:
        extra: dict[str, Any] = {}
        if self.field is not None:
            extra["fields"] = {self.field: [self.message]}
        return JsonResponse(
            error_body(self.status, self.code, self.message, **extra), status=self.status
        )


def check_text(value: str, field: str | None) -> None:
    """Refuse NUL characters and lone surrogates (text that is not Unicode)."""
    if "\x00" in value:
        raise Refused(400, "invalid_text", gettext("Text may not contain NUL characters."), field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused(400, "invalid_text", gettext("Text must be valid Unicode."), field) from None


_INTEGER = re.compile(r"[+-]?[0-9]+")


def check_number_text(value: str, field: str | None) -> None:
    """A field value written as an integer must fit 64 bits (every id and count column does)."""
    value = value.strip()
    if len(value) <= 18 or not _INTEGER.fullmatch(value):
        return
    sign = -1 if value[0] == "-" else 1
    digits = value.lstrip("+-").lstrip("0") or "0"  # "000...0" is zero, whatever its length
    # Past 19 digits it cannot fit (and int() of thousands of digits is itself refused).
    if len(digits) > 19 or not INT64_MIN <= sign * int(digits) <= INT64_MAX:
        raise Refused(400, "invalid", gettext("Ensure this number fits in 64 bits."), field)


def check_encoded(raw: bytes, field: str | None, *, form: bool) -> str:
    """Percent-decoded bytes must be UTF-8 without NUL; returns the decoded text."""
    data = unquote_to_bytes(raw.replace(b"+", b" ")) if form else raw
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "invalid_text", gettext("Text must be valid UTF-8."), field) from None
    check_text(text, field)
    return text


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether arrays/objects nest deeper than `limit`, scanning bytes (no recursion)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _walk(document: Any) -> Iterator[tuple[str, Any]]:
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                yield child, key
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), item) for i, item in enumerate(value))
        else:
            yield path, value


def check_json(body: bytes) -> None:
    if json_depth_exceeds(body, settings.INPUT_MAX_JSON_DEPTH):
        raise Refused(
            400,
            "too_deep",
            gettext("JSON may nest at most %(depth)d arrays or objects deep.")
            % {"depth": settings.INPUT_MAX_JSON_DEPTH},
        )
    check_encoded(body, None, form=False)
    try:
        document = json.loads(body)
    except ValueError:
        return  # malformed JSON: the parser answers with its own 400
    for path, value in _walk(document):
        field = path or "non_field_errors"
        if isinstance(value, str):
            check_text(value, field)
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            raise Refused(400, "invalid", gettext("Ensure this number fits in 64 bits."), field)
        elif isinstance(value, float) and not math.isfinite(value):
            raise Refused(400, "invalid", gettext("A finite number is required."), field)


def _check_query(request: HttpRequest) -> None:
    raw = str(request.META.get("QUERY_STRING", ""))
    for part in raw.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        field = check_encoded(name.encode("latin-1", "replace"), None, form=True)
        text = check_encoded(value.encode("latin-1", "replace"), field or None, form=True)
        check_number_text(text, field or None)


def _check_path(request: HttpRequest) -> None:
    # Django re-quotes bytes that are not UTF-8 (%FF) in path_info: decoding once more finds
    # them (and a client's literal "%25FF"; no path of ours holds a "%").
    data = unquote_to_bytes(request.path_info)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "invalid_path", gettext("The path must be valid UTF-8.")) from None
    if "\x00" in text:
        raise Refused(400, "invalid_path", gettext("The path may not contain NUL characters."))


def _too_large(limit: int) -> str:
    return gettext("The request body may be at most %(limit)d bytes.") % {"limit": limit}


def _check_body(request: HttpRequest) -> None:
    content_type = request.content_type or ""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if content_type.startswith("multipart/"):
        # Files stream to disk; Django bounds the other parts (DATA_UPLOAD_MAX_MEMORY_SIZE).
        try:
            parts = request.POST.lists()
        except OSError as exc:  # the disk uploads are spooled to is full
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            raise Refused(
                507,
                "insufficient_storage",
                gettext("The server's upload space is full; nothing was stored. Try again later."),
            ) from None
        for name, values in parts:
            check_text(name, None)
            for value in values:
                check_text(value, name)
                check_number_text(value, name)
        return
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused(400, "invalid", gettext("Content-Length must be a number.")) from None
    limit = settings.INPUT_MAX_BODY_BYTES
    if length > limit:
        raise Refused(413, "too_large", _too_large(limit))
    try:
        body = request.body
    except RequestDataTooBig:
        raise Refused(413, "too_large", _too_large(limit)) from None
    if len(body) > limit:
        raise Refused(413, "too_large", _too_large(limit))
    if not body:
        return
    if content_type == "application/json" or content_type.endswith("+json"):
        check_json(body)
    elif content_type == "application/x-www-form-urlencoded":
        for pair in body.split(b"&"):
            raw_name, _, raw_value = pair.partition(b"=")
            field = check_encoded(raw_name, None, form=True)
            text = check_encoded(raw_value, field or None, form=True)
            check_number_text(text, field or None)


_PROFILE_ID = re.compile(r"[+-]?[0-9]{1,19}")


def _check_headers(request: HttpRequest) -> None:
    # The one typed header of the API: a profile id (accounts.selectors reads it); anything
    # else there is refused on every operation, also those that do not read it.
    header = request.META.get("HTTP_X_PROFILE_ID")
    if header is None:
        return
    value = header.strip()
    if not _PROFILE_ID.fullmatch(value) or not INT64_MIN <= int(value) <= INT64_MAX:
        raise Refused(
            400, "invalid_profile", gettext("X-Profile-Id must be a profile id (an integer).")
        )


def check_request(request: HttpRequest) -> None:
    """Raise Refused when the request is outside the boundary."""
    _check_path(request)
    _check_headers(request)
    _check_query(request)
    _check_body(request)


class InputBoundaryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Before the session is read, so a refusal speaks the browser's language (Accept-Language).
        with translation.override(translation.get_language_from_request(request)):
            try:
                check_request(request)
            except Refused as refused:
                return refused.response()
        return self.get_response(request)
