"""Request bodies are closed: a field the body does not declare is refused with 400 naming it,
in JSON, form and multipart bodies alike, and nothing is done (issue 16; the schema says the
same with `additionalProperties: false`, tests/streamsite/test_schema_boundary.py)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from rest_framework import serializers

from accounts import services
from accounts.models import ApiToken, Profile
from streamsite.api.serializers import InputSerializer

pytestmark = pytest.mark.django_db


def test_an_unknown_field_in_a_json_body_is_refused_by_name_and_nothing_is_created(alice_api):
    response = alice_api.post("/api/v1/tokens", {"name": "TV", "scope": "read"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "status": 400,
            "code": "invalid",
            "message": "scope: Unknown field.",
            "fields": {"scope": ["Unknown field."]},
        }
    }
    assert ApiToken.objects.count() == 0


def test_unknown_and_invalid_fields_are_named_in_one_answer(alice_api):
    response = alice_api.post(
        "/api/v1/tokens", {"name": "", "zeta": 1, "alpha": None}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "name": ["This field may not be blank."],
        "alpha": ["Unknown field."],
        "zeta": ["Unknown field."],
    }
    assert ApiToken.objects.count() == 0


def test_a_form_body_is_closed_too(alice_api):
    response = alice_api.post(
        "/api/v1/tokens",
        urlencode({"name": "TV", "nme": "typo"}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"nme": ["Unknown field."]}
    assert ApiToken.objects.count() == 0


def test_a_partial_update_refuses_an_unknown_field_and_changes_nothing(alice, alice_api):
    profile = services.profile_create(account=alice, name="Alice")
    response = alice_api.patch(
        f"/api/v1/profiles/{profile.pk}",
        {"name": "Renamed", "is_admin": True},
        format="json",
        HTTP_X_PROFILE_ID=str(profile.pk),
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"is_admin": ["Unknown field."]}
    assert Profile.objects.get(pk=profile.pk).name == "Alice"


def test_a_multipart_upload_refuses_an_unknown_part(alice, alice_api):
    profile = services.profile_create(account=alice, name="Alice")
    upload = SimpleUploadedFile("a.png", b"not read", content_type="image/png")
    response = alice_api.post(
        f"/api/v1/profiles/{profile.pk}/avatar",
        {"image": upload, "crop": "square"},
        format="multipart",
        HTTP_X_PROFILE_ID=str(profile.pk),
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"crop": ["Unknown field."]}
    assert not Profile.objects.get(pk=profile.pk).avatar_image


class _Body(InputSerializer):
    name = serializers.CharField()
    created = serializers.CharField(read_only=True)


def test_the_csrf_token_is_transport_in_a_form_body_and_a_field_in_json():
    form = QueryDict(mutable=True)
    form.update({"name": "x", "csrfmiddlewaretoken": "t"})
    assert _Body(data=form).is_valid() is True
    as_json = _Body(data={"name": "x", "csrfmiddlewaretoken": "t"})
    assert as_json.is_valid() is False
    assert as_json.errors == {"csrfmiddlewaretoken": ["Unknown field."]}


def test_a_read_only_field_is_not_part_of_a_request_body():
    body = _Body(data={"name": "x", "created": "now"})
    assert body.is_valid() is False
    assert body.errors == {"created": ["Unknown field."]}
