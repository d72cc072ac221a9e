"""The watch page: player config as a JSON blob, the stream-limit page, stopping a stream."""

import json
import re

import pytest
from django.db import connection

from playback.models import PlaybackSession
from tests.playback.sessions.conftest import pick_profile
from tests.playback.sessions.factories import EpisodeFactory

pytestmark = pytest.mark.django_db


def config_of(response):
    match = re.search(
        rb'<script id="player-config" type="application/json">(.*?)</script>', response.content
    )
    assert match, "the page carries its player config as a JSON blob"
    return json.loads(match.group(1))


def test_anonymous_is_sent_to_sign_in(client, movie):
    response = client.get(f"/watch/{movie.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next=/watch/{movie.pk}/"
    assert PlaybackSession.objects.count() == 0


def test_page_starts_a_session_and_hands_the_player_its_config(client, alice, alice_profile, movie):
    pick_profile(client, alice_profile, alice)
    response = client.get(f"/watch/{movie.pk}/")
    assert response.status_code == 200
    session = PlaybackSession.objects.get()
    config = config_of(response)
    assert config["session_id"] == str(session.pk)
    assert re.match(
        rf"^http://testserver/playback/t/[0-9a-f]{{8}}a/[\w-]{{22}}/\d+/session/{session.pk}/master\.m3u8$",
        config["master_playlist_url"],
    )
    assert config["heartbeat_url"] == (
        f"http://testserver/api/v1/playback/sessions/{session.pk}/heartbeat"
    )
    assert config["hls_url"] == "/static/vendor/hls/hls.min.js"
    assert config["markers"] == {"intro_start": 5.0, "intro_end": 35.0, "credits_start": 570.0}
    assert config["next_episode_url"] is None
    assert len(config["csrf_token"]) == 64
    assert b'src="/static/player/player.js"' in response.content
    assert b'<h1 class="player-heading">The Long Take</h1>' in response.content
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_players_words_come_in_the_profiles_language(client, alice, alice_profile, movie):
    """The script writes menus, button names and error texts itself: the page hands it them
    translated, placeholders left for the script to fill."""
    alice_profile.language = "es"
    alice_profile.save(update_fields=["language"])
    pick_profile(client, alice_profile, alice)
    labels = config_of(client.get(f"/watch/{movie.pk}/"))["labels"]
    assert labels["pause"] == "Pausa"
    assert labels["subtitles_off"] != "Subtitles off"
    assert labels["auto_level"] == "Automática (%(height)sp)"
    assert "%(seconds)s" in labels["reconnecting_body"]
    assert labels["expired_title"] == "El enlace de este vídeo ha caducado"
    # every word the script shows is in the catalogue: none is left in English
    from django.utils import translation

    from playback.views import player_labels

    with translation.override("en"):
        english = player_labels()
    assert set(labels) == set(english)
    assert [k for k in english if labels[k] == english[k]] == []


def test_episode_page_links_the_next_episode(client, alice, alice_profile, media_root):
    from tests.playback.sessions.conftest import write_fake_asset

    first = EpisodeFactory(number=1, name="Pilot")
    second = EpisodeFactory(season=first.season, number=2, name="Second")
    write_fake_asset(media_root, f"episode-{first.pk}")
    pick_profile(client, alice_profile, alice)
    title_id = first.season.title_id
    response = client.get(f"/watch/{title_id}/episode/{first.pk}/")
    assert response.status_code == 200
    config = config_of(response)
    assert config["next_episode_url"] == f"/watch/{title_id}/episode/{second.pk}/"
    assert config["next_episode"]["name"] == "Second"


def test_episode_of_another_title_is_404(client, alice, alice_profile, movie):
    episode = EpisodeFactory()
    pick_profile(client, alice_profile, alice)
    assert client.get(f"/watch/{movie.pk}/episode/{episode.pk}/").status_code == 404
    assert PlaybackSession.objects.count() == 0


def test_over_the_limit_shows_the_other_streams_with_a_stop_button(
    client, alice, alice_profile, movie, limit
):
    limit(max_streams=1)
    pick_profile(client, alice_profile, alice)
    client.get(f"/watch/{movie.pk}/", HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0) Firefox/130")
    other = PlaybackSession.objects.get()
    response = client.get(f"/watch/{movie.pk}/")
    assert response.status_code == 409
    text = response.content.decode()
    assert "Your account is playing on too many screens" in text
    assert "Your plan allows 1 stream at a time, and this one is playing now." in text
    assert "Firefox on Windows" in text
    assert f'action="/watch/streams/{other.pk}/stop"' in text
    stop = client.post(f"/watch/streams/{other.pk}/stop", {"next": f"/watch/{movie.pk}/"})
    assert (stop.status_code, stop["Location"]) == (302, f"/watch/{movie.pk}/")
    assert PlaybackSession.objects.get(pk=other.pk).end_reason == "terminated"
    assert client.get(f"/watch/{movie.pk}/").status_code == 200


def test_stop_button_of_another_account_is_404(client, alice, alice_profile, bob, movie):
    pick_profile(client, alice_profile, alice)
    client.get(f"/watch/{movie.pk}/")
    session = PlaybackSession.objects.get()
    client.force_login(bob)
    response = client.post(f"/watch/streams/{session.pk}/stop", {"next": "/"})
    assert response.status_code == 404
    assert PlaybackSession.objects.get().ended_at is None


def test_signed_in_without_a_chosen_profile_goes_to_the_picker_first(
    client, alice, alice_profile, movie
):
    client.force_login(alice)
    response = client.get(f"/watch/{movie.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/profiles/?next=%2Fwatch%2F{movie.pk}%2F"
    assert PlaybackSession.objects.count() == 0


def test_stop_button_never_redirects_off_site(client, alice, alice_profile, movie):
    pick_profile(client, alice_profile, alice)
    client.get(f"/watch/{movie.pk}/")
    session = PlaybackSession.objects.get()
    response = client.post(f"/watch/streams/{session.pk}/stop", {"next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_watch_page_query_count(client, alice, alice_profile, movie, django_assert_num_queries):
    pick_profile(client, alice_profile, alice)
    client.get(f"/watch/{movie.pk}/")  # warm the session
    # steering, billing, the media pipeline asset lookup and the lease (the live ones counted
    # in its insert; the session comes from the cache; its user and the profile are remembered
    # by this process); on PostgreSQL the lock, the lease, the decision and the resume position
    # go in one round trip (streamsite.prebuilt.OneTrip): one message when binding client-side,
    # four statements of one pipeline when binding server-side
    one_message = (
        connection.vendor == "postgresql" and not connection.features.uses_server_side_binding
    )
    with django_assert_num_queries(6 if one_message else 9):
        client.get(f"/watch/{movie.pk}/")


def test_refused_for_the_plan_the_page_says_why_and_links_to_billing(
    client, alice, alice_profile, movie
):
    from billing import entitlements
    from billing.models import Subscription

    Subscription.objects.filter(account=alice).update(status="canceled")
    entitlements.invalidate(alice.pk)
    pick_profile(client, alice_profile, alice)
    response = client.get(f"/watch/{movie.pk}/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "<p>Your subscription was canceled. Pick a plan to come back.</p>" in html
    assert '<a class="button" href="/account/billing/">Go to billing</a>' in html
    assert PlaybackSession.objects.count() == 0


def test_other_refusals_keep_only_the_way_home(client, alice, alice_profile, movie):
    movie.is_published = False
    movie.save(update_fields=["is_published"])
    pick_profile(client, alice_profile, alice)
    response = client.get(f"/watch/{movie.pk}/")
    assert response.status_code == 403
    assert "Go to billing" not in response.content.decode()
    assert '<a class="button" href="/">Browse what you can watch</a>' in response.content.decode()


@pytest.mark.parametrize(
    "referer,back",
    [
        ("http://testserver/search/?q=long", "/search/?q=long"),  # where the viewer came from
        ("http://testserver/", "/"),
        ("", "title"),  # typed in or bookmarked: the title's page
        ("https://evil.example/phish", "title"),  # another site is never a target
        ("http://testserver/watch/1/", "title"),  # from another player (next episode)
        ("http://testserver/profiles/", "title"),  # from "Who's watching?"
    ],
)
def test_back_returns_to_the_page_the_viewer_came_from(
    client, alice, alice_profile, movie, referer, back
):
    pick_profile(client, alice_profile, alice)
    headers = {"HTTP_REFERER": referer} if referer else {}
    response = client.get(f"/watch/{movie.pk}/", **headers)
    expected = f"/title/{movie.slug}" if back == "title" else back
    assert config_of(response)["back_url"] == expected
    assert (
        f'<a class="player-back" href="{expected}" aria-label="Back">' in response.content.decode()
    )
