"""The API's content negotiation answers exactly as DRF's, only faster on the common headers."""

from __future__ import annotations

import pytest
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from streamsite.api.negotiation import ContentNegotiation

ACCEPTS = [
    None,
    "",
    "*/*",
    "application/json",
    "application/json; indent=4",
    "application/*",
    "text/html, application/json;q=0.9",
    "text/html",
    "image/png",
    "application/json, */*",
]


def answer(negotiation, accept, query="", renderers=(JSONRenderer,), suffix=None):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api/v1/titles{query}", **headers))
    try:
        renderer, media_type = negotiation.select_renderer(
            request, [r() for r in renderers], suffix
        )
    except exceptions.NotAcceptable:
        return "406"
    except Exception as exc:  # noqa: BLE001 - compared, not hidden
        return type(exc).__name__
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api", "?page=2"])
@pytest.mark.parametrize("renderers", [(JSONRenderer,), (JSONRenderer, BrowsableAPIRenderer)])
def test_the_same_answer_as_drf(accept, query, renderers):
    ours = answer(ContentNegotiation(), accept, query, renderers)
    assert ours == answer(DefaultContentNegotiation(), accept, query, renderers)


def test_the_common_headers_never_reach_the_media_type_parser(monkeypatch):
    def parse(*args, **kwargs):
        raise AssertionError("parsed")

    monkeypatch.setattr("rest_framework.negotiation.order_by_precedence", parse)
    for accept in (None, "*/*", "application/json"):
        assert answer(ContentNegotiation(), accept) == ("JSONRenderer", "application/json")
    # Anything else is DRF's to decide (`answer` names the exception it raised).
    assert answer(ContentNegotiation(), "application/json; indent=4") == "AssertionError"
    assert answer(ContentNegotiation(), "") == "AssertionError"


@pytest.mark.django_db
def test_the_api_answers_json_and_refuses_what_it_cannot_render(client):
    assert client.get("/api/v1/titles", HTTP_ACCEPT="*/*").status_code == 401
    refused = client.get("/api/v1/titles", HTTP_ACCEPT="image/png")
    assert refused.status_code == 406
    assert refused["Content-Type"].startswith("application/json")
