"""Recommendations API: rows, more like this, explanation, onboarding; authorisation matrix,
bad input, constant query counts, the schema."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Maturity
from catalog.models import Availability
from playback.models import ThumbRating
from recommendations.models import Interaction
from tests.clients import api_client as client_for
from tests.factories import UserFactory
from tests.recommendations.factories import ProfileFactory

ROWS = "/api/v1/recommendations/rows"
ONBOARDING = "/api/v1/recommendations/onboarding"


def more(title_id):
    return f"/api/v1/recommendations/titles/{title_id}/more-like-this"


def why(title_id):
    return f"/api/v1/recommendations/titles/{title_id}/explanation"


@pytest.fixture
def world(live):
    """Owner (a planted profile), a second profile and a kids profile on the same account,
    another account, staff; title 0 rated R."""
    profiles, titles, synth = live
    owner = profiles[0]
    account = owner.account
    sibling = ProfileFactory(account=account, name="Sibling")
    kid = ProfileFactory(account=account, name="Kid", maturity=Maturity.KIDS, is_kids=True)
    for t in titles:
        t.rating = "R" if t == titles[0] else "G"
        t.save(update_fields=["rating"])
    return {
        "owner": owner,
        "sibling": sibling,
        "kid": kid,
        "client": client_for(account),
        "other": client_for(UserFactory(email="other@example.com")),
        "staff": client_for(UserFactory(email="boss@example.com", is_staff=True)),
        "titles": titles,
        "synth": synth,
    }


@pytest.mark.parametrize(
    "path", [ROWS, ONBOARDING, more(1), why(1)], ids=["rows", "onboarding", "more", "why"]
)
def test_anonymous_is_refused_with_401(world, path):
    response = APIClient().get(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    before = ThumbRating.objects.count()
    assert APIClient().post(ONBOARDING, {"title_ids": [1, 2, 3]}, format="json").status_code == 401
    assert ThumbRating.objects.count() == before


@pytest.mark.parametrize("who", ["other", "staff"])
def test_another_account_or_staff_cannot_act_as_the_owners_profile(world, who):
    owner = world["owner"]
    for path in (ROWS, more(world["titles"][1].pk), why(world["titles"][1].pk), ONBOARDING):
        response = world[who].get(path, HTTP_X_PROFILE_ID=str(owner.pk))
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "invalid_profile"
    before = ThumbRating.objects.count()
    ids = [t.pk for t in world["titles"][1:4]]
    response = world[who].post(
        ONBOARDING, {"title_ids": ids}, format="json", HTTP_X_PROFILE_ID=str(owner.pk)
    )
    assert response.status_code == 403
    assert ThumbRating.objects.count() == before


def test_rows_are_the_acting_profiles_own(world):
    owner, sibling = world["owner"], world["sibling"]
    mine = world["client"].get(ROWS, HTTP_X_PROFILE_ID=str(owner.pk)).json()["rows"]
    theirs = world["client"].get(ROWS, HTTP_X_PROFILE_ID=str(sibling.pk)).json()["rows"]
    assert mine[0]["label"] == f"Top picks for {owner.name}"
    assert [r["key"] for r in theirs] == ["new_for_you"]  # the sibling has no history yet
    card = mine[0]["titles"][0]
    assert sorted(card) == ["explanation", "id", "name", "poster_url", "slug"]
    assert card["explanation"].startswith("Because you liked ")


def test_onboarding_by_one_profile_changes_only_that_profile(world):
    owner, sibling = world["owner"], world["sibling"]
    before = list(Interaction.objects.filter(profile=owner).values_list("title_id", "weight"))
    ids = [t.pk for t in world["titles"][1:4]]
    response = world["client"].post(
        ONBOARDING, {"title_ids": ids}, format="json", HTTP_X_PROFILE_ID=str(sibling.pk)
    )
    assert response.status_code == 201
    assert response.json()["rows"][0]["key"] == "top_picks"
    assert sorted(
        ThumbRating.objects.filter(profile=sibling).values_list("title_id", flat=True)
    ) == sorted(ids)
    assert list(Interaction.objects.filter(profile=owner).values_list("title_id", "weight")) == (
        before
    )


def test_a_kids_profile_sees_no_mature_title_and_gets_404_for_one(world):
    kid, mature = world["kid"], world["titles"][0]
    c = world["client"]
    onboard = c.get(ONBOARDING, HTTP_X_PROFILE_ID=str(kid.pk)).json()
    assert mature.pk not in [t["id"] for t in onboard["titles"]]
    assert len(onboard["titles"]) == 24  # the onboarding grid's size
    assert c.get(why(mature.pk), HTTP_X_PROFILE_ID=str(kid.pk)).status_code == 404
    assert c.get(more(mature.pk), HTTP_X_PROFILE_ID=str(kid.pk)).status_code == 404
    response = c.post(
        ONBOARDING,
        {"title_ids": [mature.pk, world["titles"][1].pk, world["titles"][2].pk]},
        format="json",
        HTTP_X_PROFILE_ID=str(kid.pk),
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        f"Not titles this profile can watch: {mature.pk}."
    )
    assert ThumbRating.objects.filter(profile=kid).count() == 0
    ok = [t.pk for t in world["titles"][1:4]]
    c.post(ONBOARDING, {"title_ids": ok}, format="json", HTTP_X_PROFILE_ID=str(kid.pk))
    rows = c.get(ROWS, HTTP_X_PROFILE_ID=str(kid.pk)).json()["rows"]
    assert mature.pk not in {t["id"] for r in rows for t in r["titles"]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"title_ids": [1, 2]}, "Pick at least 3 titles you like (got 2)."),
        ({"title_ids": [1, 1, 1]}, "Pick at least 3 titles you like (got 1)."),
        ({"title_ids": ["x"]}, None),
        ({}, None),
        ({"title_ids": [999991, 999992, 999993]}, None),
    ],
    ids=["two", "duplicates", "not-ints", "missing", "unknown"],
)
def test_bad_onboarding_input_is_a_400_and_writes_nothing(world, body, message):
    sibling = world["sibling"]
    response = world["client"].post(
        ONBOARDING, body, format="json", HTTP_X_PROFILE_ID=str(sibling.pk)
    )
    assert response.status_code == 400
    error = response.json()["error"]
    if message is not None:
        assert error["message"] == message
    assert "title_ids" in error["fields"]
    assert ThumbRating.objects.filter(profile=sibling).count() == 0
    assert Interaction.objects.filter(profile=sibling).count() == 0


def test_explanation_names_the_history_titles(world):
    owner, c = world["owner"], world["client"]
    top = c.get(ROWS, HTTP_X_PROFILE_ID=str(owner.pk)).json()["rows"][0]["titles"][0]
    body = c.get(why(top["id"]), HTTP_X_PROFILE_ID=str(owner.pk)).json()
    assert body["title_id"] == top["id"]
    seen = set(Interaction.objects.filter(profile=owner).values_list("title_id", flat=True))
    assert body["because_title_ids"]
    assert set(body["because_title_ids"]) <= seen
    assert body["text"].startswith("Because you watched ")


def test_more_like_this_leaves_out_the_title_itself_and_unavailable_titles(world):
    owner, c, titles = world["owner"], world["client"], world["titles"]
    source = titles[5]
    first = c.get(more(source.pk), HTTP_X_PROFILE_ID=str(owner.pk)).json()["results"]
    ids = [r["id"] for r in first]
    assert source.pk not in ids
    assert ids
    Availability.objects.filter(title_id=ids[0]).delete()
    again = c.get(more(source.pk), HTTP_X_PROFILE_ID=str(owner.pk)).json()["results"]
    again_ids = [r["id"] for r in again]
    assert ids[0] not in again_ids
    assert again_ids[: len(ids) - 1] == ids[1:]


def test_unknown_title_is_404_and_a_bad_profile_header_is_400(world):
    c = world["client"]
    owner = world["owner"]
    assert c.get(why(999999), HTTP_X_PROFILE_ID=str(owner.pk)).status_code == 404
    response = c.get(ROWS, HTTP_X_PROFILE_ID="abc")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_profile"


def _rows_queries(client, profile, django_assert_num_queries, n):
    client.get(ROWS, HTTP_X_PROFILE_ID=str(profile.pk))  # compute and cache
    with django_assert_num_queries(n):
        response = client.get(ROWS, HTTP_X_PROFILE_ID=str(profile.pk))
    return response.json()["rows"]


def test_the_rows_endpoint_query_count_is_the_same_for_one_and_many_titles(
    world, django_assert_num_queries
):
    c = world["client"]
    few = world["sibling"]
    many = world["owner"]
    Availability.objects.exclude(title_id=world["titles"][3].pk).delete()
    # titles, artwork (the profile is remembered, the live version cached)
    got_few = _rows_queries(c, few, django_assert_num_queries, 2)
    assert sum(len(r["titles"]) for r in got_few) == 1
    Availability.objects.bulk_create(
        [Availability(title=t, country="") for t in world["titles"] if t != world["titles"][3]]
    )
    got_many = _rows_queries(c, many, django_assert_num_queries, 2)
    assert sum(len(r["titles"]) for r in got_many) >= 20


def test_the_schema_documents_every_endpoint(world):
    schema = APIClient().get("/api/schema/?format=json").json()
    for path in (
        "/api/v1/recommendations/rows",
        "/api/v1/recommendations/onboarding",
        "/api/v1/recommendations/titles/{title_id}/more-like-this",
        "/api/v1/recommendations/titles/{title_id}/explanation",
    ):
        assert path in schema["paths"]


def test_cards_carry_the_medium_poster_or_the_nearest_size(world):
    from catalog.models import Artwork

    owner, c = world["owner"], world["client"]
    rows_before = c.get(ROWS, HTTP_X_PROFILE_ID=str(owner.pk)).json()["rows"]
    first, second = rows_before[0]["titles"][0]["id"], rows_before[0]["titles"][1]["id"]
    Artwork.objects.bulk_create(
        [
            Artwork(
                title_id=first, kind="poster", size="sm", image="a/1-sm.jpg", width=1, height=1
            ),
            Artwork(
                title_id=first, kind="poster", size="md", image="a/1-md.jpg", width=1, height=1
            ),
            Artwork(
                title_id=first, kind="backdrop", size="md", image="a/1-bd.jpg", width=1, height=1
            ),
            Artwork(
                title_id=second, kind="poster", size="lg", image="a/2-lg.jpg", width=1, height=1
            ),
        ]
    )
    cards = c.get(ROWS, HTTP_X_PROFILE_ID=str(owner.pk)).json()["rows"][0]["titles"]
    assert [card["poster_url"] for card in cards[:3]] == [
        "/media/a/1-md.jpg",
        "/media/a/2-lg.jpg",
        "",
    ]


def test_cached_rows_drop_a_title_whose_window_closed_since(world):
    from django.utils import timezone

    owner = world["owner"]
    first = world["client"].get(ROWS, HTTP_X_PROFILE_ID=str(owner.pk)).json()["rows"]
    gone = first[0]["titles"][0]["id"]
    # The window closes; the cached rows (hours old in production) still name the title.
    Availability.objects.filter(title_id=gone).update(ends_at=timezone.now())
    rows = world["client"].get(ROWS, HTTP_X_PROFILE_ID=str(owner.pk)).json()["rows"]
    shown = {card["id"] for row in rows for card in row["titles"]}
    assert gone not in shown
    assert shown  # the rest is still there
