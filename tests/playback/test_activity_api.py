"""Activity endpoints: scoped to the requesting profile, with the full authorisation matrix."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from playback.models import MyListEntry, Progress, ThumbRating, ViewingEvent
from playback.services import activity
from tests.catalog.conftest import client_as
from tests.catalog.factories import ProfileFactory, TitleFactory

T0 = timezone.now().replace(microsecond=0)


@pytest.fixture
def movie(db):
    return TitleFactory(name="Movie")


@pytest.fixture
def watched(alice_profile, movie):
    """Alice's profile has the movie listed, rated and half watched."""
    activity.my_list_add(profile=alice_profile, title=movie)
    activity.rate(profile=alice_profile, title=movie, value=1)
    activity.record_progress(
        profile=alice_profile,
        title=movie,
        position_seconds=50,
        duration_seconds=100,
        occurred_at=T0,
    )
    return movie


def snapshot():
    return (
        list(MyListEntry.objects.values_list("profile_id", "title_id")),
        list(ThumbRating.objects.values_list("profile_id", "title_id", "value")),
        list(Progress.objects.values_list("profile_id", "position_seconds")),
        ViewingEvent.objects.count(),
    )


@pytest.mark.django_db
class TestMatrix:
    """Anonymous: 401. Another account's profile id: 403 (accounts' request_profile). Another
    profile of the same account: its own (empty) data. Owner: their data. Staff: no special
    access to a viewer's activity."""

    READS = ["/api/v1/my-list", "/api/v1/ratings", "/api/v1/progress", "/api/v1/history"]

    @pytest.mark.parametrize("url", READS)
    def test_reads(self, url, api, alice, bob, staff, alice_profile, alice_kid, watched):
        assert api.get(url).status_code == 401
        assert client_as(bob, alice_profile).get(url).status_code == 403
        assert client_as(staff, alice_profile).get(url).status_code == 403
        assert client_as(alice, alice_kid).get(url).json()["results"] == []
        owner = client_as(alice, alice_profile).get(url).json()["results"]
        assert [row["title"]["name"] for row in owner] == ["Movie"]

    def test_reads_need_a_profile_when_the_account_has_several(
        self, alice, alice_profile, alice_kid
    ):
        response = client_as(alice).get("/api/v1/my-list")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "profile_required"

    def test_single_profile_account_still_names_its_profile(self, bob, bob_profile, movie):
        activity.my_list_add(profile=bob_profile, title=movie)
        assert client_as(bob).get("/api/v1/my-list").status_code == 403
        body = client_as(bob, bob_profile).get("/api/v1/my-list").json()
        assert [row["title"]["id"] for row in body["results"]] == [movie.pk]

    def test_malformed_profile_header_is_400(self, alice, alice_profile):
        client = client_as(alice)
        client.credentials(HTTP_X_PROFILE_ID="me")
        response = client.get("/api/v1/my-list")
        assert response.status_code == 400
        assert "X-Profile-Id" in response.json()["error"]["message"]

    @pytest.mark.parametrize(
        ("method", "url", "data"),
        [
            ("post", "/api/v1/my-list", "title"),
            ("delete", "/api/v1/my-list/{id}", None),
            ("put", "/api/v1/ratings/{id}", {"value": -1}),
            ("delete", "/api/v1/ratings/{id}", None),
            ("delete", "/api/v1/history/{id}", None),
        ],
    )
    def test_writes_denied_change_nothing(
        self, method, url, data, api, alice, bob, staff, alice_profile, alice_kid, watched
    ):
        url = url.format(id=watched.pk)
        payload = {"title_id": watched.pk} if data == "title" else data
        before = snapshot()
        assert getattr(api, method)(url, payload, format="json").status_code == 401
        for user in (bob, staff):
            response = getattr(client_as(user, alice_profile), method)(url, payload, format="json")
            assert response.status_code == 403
        assert snapshot() == before

    def test_other_profile_of_same_account_only_touches_its_own(
        self, alice, alice_profile, alice_kid, watched
    ):
        kid = client_as(alice, alice_kid)
        assert kid.delete(f"/api/v1/my-list/{watched.pk}").status_code == 404
        assert kid.delete(f"/api/v1/history/{watched.pk}").status_code == 404
        assert kid.post("/api/v1/my-list", {"title_id": watched.pk}).status_code == 201
        assert sorted(MyListEntry.objects.values_list("profile_id", flat=True)) == sorted(
            [alice_profile.pk, alice_kid.pk]
        )
        assert Progress.objects.filter(profile=alice_profile).count() == 1

    def test_owner_writes(self, alice, alice_profile, movie):
        client = client_as(alice, alice_profile)
        assert client.post("/api/v1/my-list", {"title_id": movie.pk}).status_code == 201
        response = client.put(f"/api/v1/ratings/{movie.pk}", {"value": -1})
        assert response.status_code == 200
        assert response.json()["value"] == -1
        assert client.delete(f"/api/v1/my-list/{movie.pk}").status_code == 204
        assert client.delete(f"/api/v1/ratings/{movie.pk}").status_code == 204
        assert snapshot() == ([], [], [], 0)

    def test_owner_deletes_history(self, alice, alice_profile, watched):
        client = client_as(alice, alice_profile)
        assert client.delete(f"/api/v1/history/{watched.pk}").status_code == 204
        assert ViewingEvent.objects.count() == 0
        assert Progress.objects.count() == 0
        assert client.delete(f"/api/v1/history/{watched.pk}").status_code == 404


@pytest.mark.django_db
class TestActivityInput:
    def test_rating_value_must_be_one_or_minus_one(self, as_alice, movie):
        response = as_alice.put(f"/api/v1/ratings/{movie.pk}", {"value": 3})
        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == ["value"]
        assert ThumbRating.objects.count() == 0

    def test_my_list_needs_a_title_id(self, as_alice):
        response = as_alice.post("/api/v1/my-list", {})
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"title_id": ["This field is required."]}

    def test_kids_profile_cannot_list_an_adult_title(self, alice, alice_kid):
        adult = TitleFactory(rating="R")
        response = client_as(alice, alice_kid).post("/api/v1/my-list", {"title_id": adult.pk})
        assert response.status_code == 404
        assert MyListEntry.objects.count() == 0

    def test_progress_filter_by_title(self, as_alice, alice_profile):
        a, b = TitleFactory(name="A"), TitleFactory(name="B")
        for i, title in enumerate((a, b)):
            activity.record_progress(
                profile=alice_profile,
                title=title,
                position_seconds=10,
                duration_seconds=100,
                occurred_at=T0 + timedelta(seconds=i),
            )
        body = as_alice.get("/api/v1/progress", {"title_id": a.pk}).json()
        assert [(r["title"]["name"], r["position_seconds"]) for r in body["results"]] == [("A", 10)]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/my-list", "/api/v1/history", "/api/v1/ratings"])
def test_activity_lists_query_count_is_the_same_for_1_and_50_rows(
    url, alice, alice_profile, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as(alice, alice_profile)

    def build(n: int) -> None:
        for _ in range(n):
            title = TitleFactory()
            activity.my_list_add(profile=alice_profile, title=title)
            activity.rate(profile=alice_profile, title=title, value=1)
            activity.record_progress(
                profile=alice_profile,
                title=title,
                position_seconds=1,
                duration_seconds=9,
                occurred_at=T0,
            )

    client.get(url)  # the profile is remembered from here on (accounts.token_cache)
    build(1)
    with CaptureQueriesContext(connection) as one:
        client.get(url, {"page_size": 100})
    build(49)
    with django_assert_num_queries(len(one.captured_queries)):
        body = client.get(url, {"page_size": 100}).json()
    assert body["count"] == 50
    assert ProfileFactory._meta.model.objects.count() == 1
