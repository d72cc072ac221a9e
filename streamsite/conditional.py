"""Conditional responses from a cached body: ETag, Last-Modified, Cache-Control, 304.

A body cached once (catalog.caching) carries its own ETag (a digest of the bytes) and
Last-Modified, so answering a revalidation costs no rendering: If-None-Match matching the ETag
answers 304 with no body; otherwise the stored bytes go out as they are.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import http_date, quote_etag

# The body depends on who asks (their country and maturity), so only the browser keeps it, and
# revalidates it every time: a 304 is cheap, a stale catalogue after a change is not.
PRIVATE_REVALIDATE = "private, no-cache"


@dataclass(frozen=True)
class CachedBody:
    body: bytes
    content_type: str
    etag: str
    last_modified: float | None = None


def cached_body(
    body: bytes, content_type: str, *, last_modified: datetime | None = None
) -> CachedBody:
    return CachedBody(
        body=body,
        content_type=content_type,
        etag=quote_etag(hashlib.sha256(body).hexdigest()[:32]),
        last_modified=last_modified.timestamp() if last_modified is not None else None,
    )


def etag_matches(request: HttpRequest, etag: str) -> bool:
    # META, not `request.headers`: that would build a dict of every header on each request.
    wanted = request.META.get("HTTP_IF_NONE_MATCH", "")
    if not wanted:
        return False
    tags = [t.strip() for t in wanted.split(",")]
    return "*" in tags or etag in tags or f"W/{etag}" in tags


def respond(
    request: HttpRequest,
    entry: CachedBody,
    *,
    cache_control: str = PRIVATE_REVALIDATE,
    vary: str = "Authorization, Cookie, X-Profile-Id",
    status: int = 200,
) -> HttpResponse:
    """The cached body as a response, or 304 when the client already has it."""
    response: HttpResponse
    if status == 200 and etag_matches(request, entry.etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(entry.body, content_type=entry.content_type, status=status)
    response["ETag"] = entry.etag
    if entry.last_modified is not None:
        response["Last-Modified"] = http_date(entry.last_modified)
    response["Cache-Control"] = cache_control
    response["Vary"] = vary
    return response
