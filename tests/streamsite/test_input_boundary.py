"""The input boundary (streamsite.input_boundary): the hostile inputs that used to answer 500
now get a 400/413 in the API's one error shape, and nothing is written."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from streamsite.input_boundary import json_depth_exceeds

pytestmark = pytest.mark.django_db


def _error(response) -> dict:
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]


def test_json_nested_a_thousand_deep_is_refused_before_parsing():
    body = '{"email": "deep@example.com", "password": "correct horse battery", "x": '
    body += "[" * 1000 + "]" * 1000 + "}"
    response = Client().post("/api/v1/auth/signup", body, content_type="application/json")
    assert response.status_code == 400
    assert _error(response) == {
        "status": 400,
        "code": "too_deep",
        "message": "JSON may nest at most 32 arrays or objects deep.",
    }
    assert User.objects.count() == 0


def test_depth_scan_ignores_brackets_inside_strings():
    assert json_depth_exceeds(b'{"a": "' + b"[" * 100 + b'"}', 4) is False
    assert json_depth_exceeds(b'{"a": "\\"' + b"[" * 100 + b'"}', 4) is False
    assert json_depth_exceeds(b"[[[[[]]]]]", 4) is True
    assert json_depth_exceeds(b"[[[[]]]]", 4) is False


def test_an_oversized_body_is_413_before_it_is_read(settings):
    settings.INPUT_MAX_BODY_BYTES = 2048
    body = '{"email": "big@example.com", "password": "' + "p" * 4096 + '"}'
    response = Client().post("/api/v1/auth/signup", body, content_type="application/json")
    assert response.status_code == 413
    assert _error(response)["code"] == "too_large"
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/search?q=ab%00cd", "q"),
        ("/api/v1/billing/subscription/preview?plan=ba%00sic", "plan"),
        ("/api/v1/catalog/titles?search=%ff%fe", "search"),
        ("/search?q%00=x", None),
    ],
)
def test_nul_and_invalid_utf8_in_a_query_string_are_refused(alice, url, field):
    client = Client()
    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "invalid_text"
    assert list(error.get("fields", {})) == ([field] if field else [])


@pytest.mark.parametrize(
    "path",
    [
        "/media/t/abc/def/seg_000%00.ts",
        "/media/hls/a/v1/x%00.ts",
        "/api/v1/catalog/titles/x%00",
    ],
)
def test_nul_in_a_path_is_refused(path):
    response = Client().get(path)
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_path"


def test_invalid_utf8_in_a_path_is_refused():
    # A WSGI server hands over the raw bytes as latin-1 (the test client would re-quote them).
    response = Client().get("/search", PATH_INFO="/search\xff\xfe")
    assert response.status_code == 400
    assert _error(response) == {
        "status": 400,
        "code": "invalid_path",
        "message": "The path must be valid UTF-8.",
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ab\x00cd", "Text may not contain NUL characters."),
        ("ab\ud800cd", "Text must be valid Unicode."),
    ],
)
def test_nul_and_lone_surrogates_in_json_strings_are_refused_with_the_field(value, message):
    import json

    body = json.dumps({"email": "nul@example.com", "password": value})
    response = Client().post("/api/v1/auth/signup", body, content_type="application/json")
    assert response.status_code == 400
    assert _error(response) == {
        "status": 400,
        "code": "invalid_text",
        "message": message,
        "fields": {"password": [message]},
    }
    assert User.objects.count() == 0


def test_nul_in_a_json_key_and_in_nested_values_names_the_path():
    response = Client().post(
        "/api/v1/auth/signup",
        '{"email": "n@example.com", "profile": {"names": ["ok", "b\\u0000d"]}}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert _error(response)["fields"] == {
        "profile.names.1": ["Text may not contain NUL characters."]
    }


def test_nul_in_a_form_field_is_refused():
    response = Client().post(
        "/accounts/signup/",
        "email=a%00b%40example.com&password1=x&password2=x",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert _error(response)["fields"] == {"email": ["Text may not contain NUL characters."]}
    assert User.objects.count() == 0


def test_nul_in_a_multipart_field_is_refused(alice):
    api = APIClient()
    api.force_login(alice)
    response = api.post("/api/v1/profiles", {"name": "Ki\x00d"}, format="multipart")
    assert response.status_code == 400
    assert _error(response)["fields"] == {"name": ["Text may not contain NUL characters."]}


def test_ordinary_unicode_passes(alice):
    client = Client()
    client.force_login(alice)
    response = client.get("/search?q=caf%C3%A9+%E2%9C%93")
    assert response.status_code == 200
    assert "café ✓" in response.content.decode()  # the query reached the page as typed


@pytest.mark.parametrize("value", ["99999999999999999999999", str(2**63), str(-(2**63) - 1)])
def test_integers_beyond_64_bits_in_a_query_are_refused(alice, value):
    api = APIClient()
    api.force_authenticate(alice)
    response = api.get(f"/api/v1/progress?title_id={value}")
    assert response.status_code == 400
    assert _error(response)["fields"] == {"title_id": ["Ensure this number fits in 64 bits."]}
