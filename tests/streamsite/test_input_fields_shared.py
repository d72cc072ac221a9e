"""A request body of plain fields validates with fields built once per class
(streamsite.api.serializers): the same answers as fields built per instance, from every thread,
and bodies that need their own fields still get them."""

from __future__ import annotations

import threading

import pytest
from django.http import QueryDict
from rest_framework import serializers

from playback.apis.sessions import HeartbeatApi, SessionListCreateApi
from streamsite.api import serializers as api_serializers
from streamsite.api.serializers import InputSerializer

Start = SessionListCreateApi.PlaybackStartInputSerializer


class Plain(InputSerializer):
    count = serializers.IntegerField(min_value=1)
    name = serializers.CharField(required=False, max_length=5)
    tags = serializers.ListField(child=serializers.CharField(), required=False)


class Nested(InputSerializer):
    inner = Plain()


class ContextDefault(InputSerializer):
    who = serializers.CharField(default=serializers.CreateOnlyDefault("x"))
    owner = serializers.HiddenField(default=serializers.CurrentUserDefault())


def own_fields(serializer_class, data, **kwargs):
    """What DRF answers with fields built for this instance alone."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.fields = serializers.Serializer.fields.func(serializer)
    serializer.is_valid()
    return serializer.errors, dict(serializer.validated_data) if not serializer.errors else None


def shared(serializer_class, data, **kwargs):
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid()
    return serializer.errors, dict(serializer.validated_data) if not serializer.errors else None


BODIES = [
    {"count": 3},
    {"count": 3, "name": "abc", "tags": ["a", "b"]},
    {"count": 0},
    {"count": "x", "name": "toolong"},
    {"name": "abc"},
    {"count": 2, "other": 1},
    {"count": 2, "tags": "notalist"},
    [],
    "text",
]


@pytest.mark.parametrize("body", BODIES)
def test_the_answers_are_those_of_fields_built_per_instance(body):
    assert shared(Plain, body) == own_fields(Plain, body)


@pytest.mark.parametrize(
    "body",
    [{"title_id": 1}, {"title_id": 0}, {"episode_id": 2, "device": "x" * 121}, {"title": 1}, {}],
)
def test_the_playback_start_body_answers_as_before(body):
    assert shared(Start, body) == own_fields(Start, body)


def test_plain_bodies_share_one_set_of_fields():
    first, second = Start(data={}), Start(data={})
    assert first.fields is second.fields
    heartbeat = HeartbeatApi.HeartbeatInputSerializer(data={})
    assert heartbeat.fields is HeartbeatApi.HeartbeatInputSerializer(data={}).fields


def test_a_partial_body_builds_its_own_and_keeps_partial_semantics():
    serializer = Plain(data={"name": "abc"}, partial=True)
    assert serializer.fields is not Plain(data={}).fields
    assert serializer.is_valid(), serializer.errors  # count is not required in a partial body
    assert not Plain(data={"name": "abc"}).is_valid()  # ... and still is in a whole one


def test_a_nested_serializer_or_a_context_default_builds_its_own():
    assert Nested(data={}).fields is not Nested(data={}).fields
    assert ContextDefault(data={}).fields is not ContextDefault(data={}).fields
    # the nested body validates as its own class would, bound inside its parent
    outer = Nested(data={"inner": {"count": 0}})
    assert not outer.is_valid()
    assert "count" in outer.errors["inner"]
    assert api_serializers._shared_fields(Nested) is None


def test_threads_validating_at_once_each_get_their_own_answer():
    results: dict[int, tuple] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(300):
                value = n * 1000 + i
                body = {"count": value} if i % 3 else {"count": -value, "name": "toolong"}
                got = shared(Plain, body)
                if got != own_fields(Plain, body):
                    raise AssertionError((body, got))
            results[n] = got
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    assert len(results) == 8


class Flag(InputSerializer):
    on = serializers.BooleanField()


def test_a_form_body_parses_a_boolean_s_text_and_a_json_one_does_not():
    """A form's booleans are text ("true"); JSON's are true or false (streamsite.api.fields).
    BooleanField tells them apart by its root's data, so a form body validates with its own
    fields, bound to it, not the shared ones."""
    form = QueryDict("on=true")
    assert shared(Flag, form) == own_fields(Flag, form) == ({}, {"on": True})
    errors, _ = shared(Flag, {"on": "true"})
    assert "on" in errors
    assert shared(Flag, {"on": "true"}) == own_fields(Flag, {"on": "true"})


class NeedsRequest:
    requires_context = True

    def __call__(self, value, field):
        if field.context.get("request") is None:
            raise serializers.ValidationError("no request")


class ContextValidator(InputSerializer):
    name = serializers.CharField(validators=[NeedsRequest()])


def test_a_validator_that_reads_the_context_builds_its_own_fields():
    assert api_serializers._shared_fields(ContextValidator) is None
    body = {"name": "x"}
    assert shared(ContextValidator, body, context={"request": object()}) == ({}, body)


def test_a_profile_created_from_a_form_keeps_its_kids_flag():
    from accounts.apis.profiles import ProfileListCreateApi

    body = QueryDict("name=Mia&is_kids=true")
    errors, values = shared(ProfileListCreateApi.ProfileListCreateInputSerializer, body)
    assert errors == {} and values["is_kids"] is True
