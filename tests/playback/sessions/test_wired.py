"""Playback against the real apps: billing's entitlements, catalog's availability and maturity,
catalog's viewing activity, and the CDN's signing and steering."""

from datetime import timedelta
from uuid import UUID

import pytest
from django.utils import timezone

from billing import entitlements
from billing.models import Subscription
from cdn import signing
from cdn.models import SteeringDecision
from playback.models import PlaybackSession, Progress
from streamsite.errors import PermissionDenied
from tests.playback.sessions.conftest import client_for
from tests.playback.sessions.factories import TitleFactory

pytestmark = pytest.mark.django_db


def start(client, title, **extra):
    return client.post("/api/v1/playback/sessions", {"title_id": title.pk, **extra}, format="json")


def variants(playlist):
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


class TestNoPlan:
    @pytest.fixture
    def alice_plan(self):
        return None

    def test_account_without_a_plan_is_refused_with_billings_reason(self, alice_client, movie):
        response = start(alice_client, movie)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "not_entitled"
        assert response.json()["error"]["message"] == "Choose a plan to start watching."
        assert PlaybackSession.objects.count() == 0


class TestCanceledPlan:
    def test_canceled_subscription_is_refused_with_billings_reason(
        self, alice, alice_client, movie
    ):
        Subscription.objects.filter(account=alice).update(status="canceled")
        entitlements.invalidate(alice.pk)
        response = start(alice_client, movie)
        assert response.status_code == 403
        assert response.json()["error"]["message"] == (
            "Your subscription was canceled. Pick a plan to come back."
        )
        assert PlaybackSession.objects.count() == 0


class TestBasicPlan:
    """Basic: one stream at a time, up to 720p."""

    @pytest.fixture
    def alice_plan(self):
        return "basic"

    def test_second_stream_is_refused_then_accepted_after_the_first_stops(
        self, alice, alice_client, alice_kid, movie
    ):
        first = start(alice_client, movie, device="TV").json()["session_id"]
        kid = client_for(alice, alice_kid)
        refused = start(kid, movie, device="Tablet")
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "too_many_streams"
        assert refused.json()["error"]["message"].startswith(
            f"Your plan allows 1 stream at a time and 1 is playing: TV (Alice, session {first})."
        )
        assert PlaybackSession.objects.filter(ended_at__isnull=True).count() == 1
        assert alice_client.delete(f"/api/v1/playback/sessions/{first}").status_code == 204
        assert start(kid, movie, device="Tablet").status_code == 201

    def test_master_playlist_stops_at_720p(self, client, alice_client, movie):
        body = start(alice_client, movie).json()
        text = client.get(body["master_playlist_url"]).content.decode()
        assert [u.rsplit("/", 2)[-2] for u in variants(text)] == ["360p", "720p"]
        assert "1920x1080" not in text
        assert PlaybackSession.objects.get().max_height == 720


class TestCatalogRules:
    def test_title_rated_above_the_profile_is_refused(self, alice, alice_kid, media_root):
        from tests.playback.sessions.conftest import write_fake_asset

        title = TitleFactory(name="Night Shift", rating="R")
        write_fake_asset(media_root, f"title-{title.pk}")
        response = start(client_for(alice, alice_kid), title)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "maturity"
        assert response.json()["error"]["message"] == (
            "\u201cNight Shift\u201d is rated above what the profile \u201cKid\u201d may watch."
        )
        assert PlaybackSession.objects.count() == 0

    def test_title_not_licensed_in_the_accounts_country_is_refused(self, alice_client, media_root):
        from tests.playback.sessions.conftest import write_fake_asset

        title = TitleFactory(name="Far Away", countries=["JP"])
        write_fake_asset(media_root, f"title-{title.pk}")
        response = start(alice_client, title)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "region"
        assert response.json()["error"]["message"] == (
            "\u201cFar Away\u201d is not available to watch in your country (US)."
        )
        assert PlaybackSession.objects.count() == 0

    def test_licensing_window_that_ended_is_refused(self, alice_client, movie):
        movie.availabilities.update(ends_at=timezone.now() - timedelta(minutes=1))
        response = start(alice_client, movie)
        assert (response.status_code, response.json()["error"]["code"]) == (403, "region")


class TestActivity:
    def test_stop_writes_catalogs_progress_and_the_next_start_resumes_there(
        self, alice_client, alice_profile, movie
    ):
        session_id = start(alice_client, movie).json()["session_id"]
        alice_client.post(
            f"/api/v1/playback/sessions/{session_id}/stop",
            {"seq": 1, "position": 321.7, "duration": 600},
            format="json",
        )
        row = Progress.objects.get()
        assert (row.profile_id, row.title_id, row.position_seconds, row.duration_seconds) == (
            alice_profile.pk,
            movie.pk,
            321,
            600,
        )
        assert start(alice_client, movie).json()["resume_position_seconds"] == 321

    def test_position_past_90_percent_is_completed_and_restarts_at_zero(self, alice_client, movie):
        session_id = start(alice_client, movie).json()["session_id"]
        alice_client.post(
            f"/api/v1/playback/sessions/{session_id}/stop",
            {"seq": 1, "position": 590, "duration": 600},
            format="json",
        )
        assert Progress.objects.get().completed is True
        assert start(alice_client, movie).json()["resume_position_seconds"] == 0


class TestCdn:
    def test_media_urls_are_cdn_signed_for_the_origin_and_recorded_by_steering(
        self, client, alice_client, movie
    ):
        body = start(alice_client, movie).json()
        text = client.get(body["master_playlist_url"]).content.decode()
        first = variants(text)[0]
        verified = signing.verify_path(first.split("/media/", 1)[1], client_ip="127.0.0.1")
        assert verified.prefix == f"hls/title-{movie.pk}/local/360p/"  # the rendition's scope
        assert verified.content_key == f"hls/title-{movie.pk}/local/"
        assert verified.path == f"hls/title-{movie.pk}/local/360p/index.m3u8"
        rows = list(SteeringDecision.objects.values_list("content_key", "edges"))
        assert rows == [(verified.content_key, ["origin"])] * 2  # session start and playlist

    def test_start_records_its_decision_with_the_lease_and_a_refused_one_records_none(
        self, alice_client, alice, movie, limit
    ):
        limit(max_streams=1)
        session_id = start(alice_client, movie).json()["session_id"]
        decision = SteeringDecision.objects.get()
        assert decision.content_key == f"hls/title-{movie.pk}/local/"
        assert decision.client_ip == "127.0.0.1"
        # The limit is reached: the refused start rolls its decision back with its lease.
        assert start(alice_client, movie).status_code == 409
        assert SteeringDecision.objects.count() == 1
        assert PlaybackSession.objects.get().pk == UUID(session_id)

    def test_a_failed_decision_insert_leaves_no_lease(self, alice_client, movie, monkeypatch):
        """The decision's INSERT fails in the database (its id is taken): the lease, inserted
        before it in the same transaction (one message on PostgreSQL), is not kept."""
        from django.db import IntegrityError

        from cdn import services as cdn_services

        taken = SteeringDecision.objects.create(
            content_key="hls/other/", client_ip="127.0.0.1", created_at=timezone.now()
        )
        original = cdn_services.decision_row

        def clashing(**kwargs):
            row = original(**kwargs)
            row.id = taken.id
            return row

        monkeypatch.setattr(cdn_services, "decision_row", clashing)
        with pytest.raises(IntegrityError):
            start(alice_client, movie)
        assert not PlaybackSession.objects.exists()
        assert list(SteeringDecision.objects.values_list("id", flat=True)) == [taken.id]

    def test_media_url_bound_to_another_address_is_refused(self, client, alice_client, movie):
        body = start(alice_client, movie).json()
        text = client.get(body["master_playlist_url"]).content.decode()
        first = variants(text)[0]
        assert client.get(first).status_code == 200
        assert client.get(first, REMOTE_ADDR="203.0.113.9").status_code == 403
        with pytest.raises(PermissionDenied):
            signing.verify_path(first.split("/media/", 1)[1], client_ip="203.0.113.9")


class TestRedundantEdges:
    """The master playlist names every rendition once per ranked edge (HLS redundant variant
    streams), then once on the origin: the shipped player's failover when an edge dies."""

    @pytest.fixture
    def edges(self, settings):
        from cdn.steering import holder
        from tests.cdn.factories import EdgeFactory, SiteFactory

        settings.CDN_ORIGIN_URL = "https://origin.example/media/"
        site = SiteFactory(name="local", is_global_default=True)
        for name in ("e1", "e2", "e3"):
            EdgeFactory(site=site, name=name, base_url=f"https://{name}.example/")
        holder.reset()
        yield
        holder.reset()

    def test_each_variant_is_listed_on_two_edges_then_the_origin_with_the_same_attributes(
        self, client, alice_client, movie, edges, limit
    ):
        import m3u8

        limit(max_resolution=720)
        body = start(alice_client, movie).json()
        parsed = m3u8.loads(client.get(body["master_playlist_url"]).content.decode())
        ranked = SteeringDecision.objects.order_by("-pk").values_list("edges", flat=True)[0]
        assert len(ranked) == 3 and ranked[-1] == "origin"
        bases = [f"https://{name}.example/" for name in ranked[:2]] + [
            "https://origin.example/media/"
        ]
        listed = [
            (p.uri.split("/t/", 1)[0] + "/", p.uri.rsplit("/", 2)[-2]) for p in parsed.playlists
        ]
        assert listed == [(base, rung) for base in bases for rung in ("360p", "720p")]
        attributes = [
            (p.stream_info.bandwidth, p.stream_info.resolution, p.stream_info.codecs)
            for p in parsed.playlists
        ]
        assert (
            attributes
            == [
                (800_000, (640, 360), "avc1.64001f"),
                (2_500_000, (1280, 720), "avc1.64001f"),
            ]
            * 3
        )
        # One token per rendition, the same on every edge: renewing it renews every copy.
        tokens: dict[str, set[str]] = {}
        for p in parsed.playlists:
            signed = "t/" + p.uri.split("/t/", 1)[1]
            tokens.setdefault(p.uri.rsplit("/", 2)[-2], set()).add(signed.rsplit("/", 1)[0])
        assert {rung: len(found) for rung, found in tokens.items()} == {"360p": 1, "720p": 1}
        for rung, (signed,) in tokens.items():
            assert signed.endswith(f"/hls/title-{movie.pk}/local/{rung}")
