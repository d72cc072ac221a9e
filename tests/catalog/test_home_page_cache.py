"""The signed-in home page from its per-profile page cache (catalog.home_cache): a repeat visit
costs no catalogue, activity or rows query and no rendering; every change the page shows is
on the next page; each browser gets its own CSRF token; profiles never share a page."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import INFO
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import connection
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Maturity
from accounts.services import profile_update
from catalog import home_cache
from catalog.caching import forget_copies
from playback.services import activity
from recommendations import rows
from tests.catalog.factories import ProfileFactory, TitleFactory
from tests.clients import browser_client

pytestmark = pytest.mark.django_db

TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.CATALOG_CACHE_SECONDS = 300
    forget_copies()
    home_cache.forget_local_pages()


@pytest.fixture
def titles():
    """Enough titles for New releases to show, one of them rated for adults only."""
    made = [TitleFactory(name=f"Film {i}") for i in range(6)]
    made.append(TitleFactory(name="Grown Ups Only", rating="R"))
    return made


def token_of(body: bytes) -> str:
    found = TOKEN.findall(body)
    assert len(found) == 1, found  # the logout form
    return found[0].decode()


def without_token(body: bytes) -> bytes:
    return TOKEN.sub(b'name="csrfmiddlewaretoken" value=""', body)


def queries(do) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        do()
    return [q["sql"] for q in ctx.captured_queries]


def warm(client) -> bytes:
    """Visit until the page is stored: the first visit of a profile finds some of its stamps
    absent (its rows are computed while rendering), and a page is stored only under a whole
    stamp, so the second visit stores it."""
    client.get("/")
    return client.get("/").content


def rendered(response) -> bool:
    """Whether the view rendered the template (a page from the cache renders none)."""
    return bool(response.templates)


class TestHit:
    def test_a_second_visit_is_the_stored_page_with_no_query(self, alice, alice_profile, titles):
        client = browser_client(alice, alice_profile)
        client.get("/")
        first = client.get("/")
        assert first.status_code == 200 and rendered(first)
        second_response = []
        sql = queries(lambda: second_response.append(client.get("/")))
        second = second_response[0]
        # The page, its stamps and the session from the cache; the session's user and the
        # profile from this process's memory.
        assert sql == []
        assert not rendered(second)
        assert without_token(second.content) == without_token(first.content)
        assert b"Film 0" in second.content and b"Alice" in second.content
        assert home_cache.CSRF_PLACEHOLDER.encode() not in second.content
        assert second["Cache-Control"] == "private, no-cache"
        assert "Cookie" in second["Vary"]

    def test_a_second_visit_is_one_cache_round_trip(
        self, alice, alice_profile, titles, monkeypatch
    ):
        # The session, the shared counters, the page and its stamps, read together: the page's
        # keys ride on what the session named on its last visit (home_cache.prefetch).
        client = browser_client(alice, alice_profile)
        warm(client)
        client.get("/")
        reads: list[tuple[str, object]] = []
        depth = [0]  # a local-memory cache's get_many calls its own get: count the outer call

        def spy(name):
            real = getattr(cache, name)

            def read(keys, *args, **kwargs):
                if not depth[0]:
                    reads.append((name, keys))
                depth[0] += 1
                try:
                    return real(keys, *args, **kwargs)
                finally:
                    depth[0] -= 1

            return read

        for name in ("get", "get_many", "get_many_and_count"):
            if hasattr(cache, name):
                monkeypatch.setattr(cache, name, spy(name))
        page = client.get("/")
        assert not rendered(page) and b"Film 0" in page.content
        # (a local-memory cache counts the last-seen gate with get and incr; Redis in the
        # same pipeline)
        reads = [r for r in reads if not str(r[1]).startswith("accounts:seen:")]
        assert len(reads) == 1, reads
        keys = reads[0][1]
        assert any(k.startswith("accounts:session:") for k in keys)
        assert any(k.startswith("catalog:home:activity:") for k in keys)
        # this process stored the page and keeps a copy: only its stamps are read
        assert not any(k.startswith("catalog:home:page:") for k in keys)
        # another process (no copy) reads the page in the same one round trip
        home_cache.forget_local_pages()
        reads.clear()
        page = client.get("/")
        assert not rendered(page) and b"Film 0" in page.content
        reads = [r for r in reads if not str(r[1]).startswith("accounts:seen:")]
        assert len(reads) == 1, reads
        assert any(k.startswith("catalog:home:page:") for k in reads[0][1])

    def test_a_copy_in_this_process_is_served_only_while_its_stamp_holds(
        self, alice, alice_profile, titles
    ):
        client = browser_client(alice, alice_profile)
        warm(client)
        assert len(home_cache._local) == 1
        # the copy only: the shared page gone, the stamps unchanged
        (key,) = home_cache._local
        cache.delete(key)
        page = client.get("/")
        assert not rendered(page) and b"Film 0" in page.content
        # a change the page shows moves its stamp: the copy is not served
        activity.my_list_add(profile=alice_profile, title=titles[1])
        page = client.get("/")
        assert rendered(page)
        # and a copy past the stored page's expiry is not served either
        stamp, body, _until = home_cache._local[key]
        home_cache._local[key] = (stamp, body, 0.0)
        cache.delete(key)
        assert rendered(client.get("/"))

    def test_the_stored_page_carries_no_token(self, alice, alice_profile, titles):
        client = browser_client(alice, alice_profile)
        warm(client)
        key = home_cache.page_key(alice.pk, alice_profile.pk, "testserver")
        stored = cache.get(key)["body"].body
        assert TOKEN.findall(stored) == [home_cache.CSRF_PLACEHOLDER.encode()]

    def test_304_for_the_same_browser_and_not_for_another(self, alice, alice_profile, titles):
        one = browser_client(alice, alice_profile)
        warm(one)
        etag = one.get("/")["ETag"]
        again = one.get("/", HTTP_IF_NONE_MATCH=etag)
        assert (again.status_code, again.content) == (304, b"")
        # another browser's copy holds a token for another CSRF secret
        other = browser_client(alice, alice_profile)
        other.get("/")  # its own CSRF cookie
        assert other.get("/", HTTP_IF_NONE_MATCH=etag).status_code == 200


class TestCsrf:
    def test_two_browsers_of_one_profile_each_get_a_token_for_their_own_cookie(
        self, alice, alice_profile, titles
    ):
        one = browser_client(alice, alice_profile)
        two = browser_client(alice, alice_profile)
        warm(one)  # stores the page, sets one's cookie
        two.get("/")  # sets two's cookie
        page_one, page_two = one.get("/"), two.get("/")
        assert not rendered(page_one) and not rendered(page_two)
        secret_one = one.cookies["csrftoken"].value
        secret_two = two.cookies["csrftoken"].value
        assert secret_one != secret_two
        assert _unmask_cipher_token(token_of(page_one.content)) == secret_one
        assert _unmask_cipher_token(token_of(page_two.content)) == secret_two

    def test_the_served_token_signs_out_with_csrf_checks_on(self, alice, alice_profile, titles):
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(alice)
        session = browser.session
        session["accounts_profile_id"] = alice_profile.pk
        session.save()
        warm(browser)
        page = browser.get("/")
        assert not rendered(page)
        refused = browser.post("/logout/", {"csrfmiddlewaretoken": "x" * 64})
        assert refused.status_code == 403
        out = browser.post("/logout/", {"csrfmiddlewaretoken": token_of(page.content)})
        assert out.status_code == 302
        assert "_auth_user_id" not in browser.session

    def test_a_first_visit_without_a_csrf_cookie_gets_one(self, alice, alice_profile, titles):
        warm(browser_client(alice, alice_profile))  # the page is stored
        fresh = browser_client(alice, alice_profile)
        page = fresh.get("/")
        assert not rendered(page)
        assert _unmask_cipher_token(token_of(page.content)) == page.cookies["csrftoken"].value


class TestInvalidation:
    @pytest.fixture
    def client(self, alice, alice_profile, titles):
        client = browser_client(alice, alice_profile)
        warm(client)
        assert not rendered(client.get("/"))  # stored
        return client

    def test_progress_written(self, client, alice_profile, titles):
        from django.utils import timezone

        activity.record_progress(
            profile=alice_profile,
            title=titles[3],
            position_seconds=600,
            duration_seconds=3600,
            occurred_at=timezone.now(),
        )
        page = client.get("/")
        assert rendered(page)
        assert [p.title.pk for p in page.context["continue_watching"]] == [titles[3].pk]
        assert b"Continue watching for Alice" in page.content

    def test_my_list_add_and_remove(self, client, alice_profile, titles):
        activity.my_list_add(profile=alice_profile, title=titles[2])
        added = client.get("/")
        assert [t.pk for t in added.context["my_list"]] == [titles[2].pk]
        assert not rendered(client.get("/"))
        activity.my_list_remove(profile=alice_profile, title=titles[2])
        removed = client.get("/")
        assert rendered(removed) and removed.context["my_list"] == []

    def test_thumbs(self, client, alice_profile, titles):
        activity.rate(profile=alice_profile, title=titles[1], value=1)
        assert rendered(client.get("/"))
        assert not rendered(client.get("/"))
        activity.rating_clear(profile=alice_profile, title=titles[1])
        assert rendered(client.get("/"))

    def test_rows_recomputed(self, client, alice_profile, titles, monkeypatch):
        picks = [t.pk for t in titles[:5]]
        monkeypatch.setattr(
            rows, "compute_rows", lambda profile: [rows.Row("picked", "Picked For You", picks)]
        )
        rows.rows_store(alice_profile)
        page = client.get("/")
        assert rendered(page) and b"Picked For You" in page.content
        assert not rendered(client.get("/"))
        monkeypatch.setattr(
            rows, "compute_rows", lambda profile: [rows.Row("again", "Fresh Picks", picks)]
        )
        rows.rows_store(alice_profile)
        again = client.get("/").content
        assert b"Fresh Picks" in again and b"Picked For You" not in again

    def test_rows_dropped_by_a_refold(self, client, alice_profile, titles, monkeypatch):
        picks = [t.pk for t in titles[:5]]
        monkeypatch.setattr(
            rows, "compute_rows", lambda profile: [rows.Row("picked", "Picked For You", picks)]
        )
        rows.rows_store(alice_profile)
        assert b"Picked For You" in client.get("/").content
        assert not rendered(client.get("/"))
        monkeypatch.setattr(rows, "compute_rows", lambda profile: [])
        cache.delete(rows.cache_key_prefix(alice_profile.pk))  # what a refold does
        assert b"Picked For You" not in client.get("/").content

    def test_a_title_renamed(self, client, titles):
        titles[0].name = "Film Renamed"
        titles[0].save()
        page = client.get("/").content
        assert b"Film Renamed" in page and b"Film 0<" not in page

    def test_a_title_unpublished(self, client, titles):
        titles[4].is_published = False
        titles[4].save()
        assert b"Film 4" not in client.get("/").content

    def test_profile_renamed(self, client, alice_profile):
        profile_update(profile=alice_profile, name="Alicia")
        page = client.get("/").content
        assert b"Alicia" in page

    def test_language_switched(self, client, alice_profile):
        assert b'<html lang="en">' in client.get("/").content
        profile_update(profile=alice_profile, language="es")
        page = client.get("/").content
        assert b'<html lang="es">' in page and b"Inicio" in page

    def test_account_made_staff_gets_the_admin_link(self, client, alice):
        assert b'href="/admin/"' not in client.get("/").content
        alice.is_staff = True
        alice.save()
        assert b'href="/admin/"' in client.get("/").content

    def test_a_new_live_model_version(self, client, alice_profile):
        cache.set(rows.LIVE_KEY, 1234, rows.LIVE_SECONDS)
        warm(client)
        assert not rendered(client.get("/"))
        cache.set(rows.LIVE_KEY, 1235, rows.LIVE_SECONDS)  # a promotion, as another process sees
        assert rendered(client.get("/"))


class TestWhoSeesWhat:
    def test_two_profiles_of_one_account_never_see_each_others_page(
        self, alice, alice_profile, titles
    ):
        second = ProfileFactory(account=alice, name="Second")
        activity.my_list_add(profile=second, title=titles[5])
        browser = browser_client(alice, alice_profile)
        warm(browser)
        mine = browser.get("/")
        session = browser.session
        session["accounts_profile_id"] = second.pk
        session.save()
        theirs = browser.get("/")
        assert rendered(theirs)
        assert [t.pk for t in theirs.context["my_list"]] == [titles[5].pk]
        assert b"<span>Second</span>" in theirs.content
        assert b"<span>Alice</span>" in mine.content and b"<span>Second</span>" not in mine.content
        browser.get("/")  # the second profile's own page, stored now
        again = browser.get("/")
        assert not rendered(again) and b"<span>Second</span>" in again.content

    def test_a_kids_profile_never_gets_an_adult_page(self, alice, alice_profile, alice_kid, titles):
        adult = browser_client(alice, alice_profile)
        warm(adult)
        assert b"Grown Ups Only" in adult.get("/").content
        kid = browser_client(alice, alice_kid)
        for _ in range(3):
            page = kid.get("/").content
            assert b"Grown Ups Only" not in page and b"Film 0" in page
            assert b'<body class=" kids">' in page

    def test_a_profile_made_kids_gets_a_kids_page_at_once(self, alice, alice_profile, titles):
        browser = browser_client(alice, alice_profile)
        warm(browser)
        assert b"Grown Ups Only" in browser.get("/").content
        profile_update(profile=alice_profile, is_kids=True, maturity=Maturity.KIDS)
        assert b"Grown Ups Only" not in browser.get("/").content

    def test_another_account_is_never_served_alices_page(self, alice, alice_profile, bob, titles):
        bob_profile = ProfileFactory(account=bob, name="Bob")
        warm(browser_client(alice, alice_profile))
        page = browser_client(bob, bob_profile).get("/")
        assert rendered(page) and b"<span>Bob</span>" in page.content
        assert b"<span>Alice</span>" not in page.content


class TestNotStored:
    def test_a_page_with_messages_shows_them_and_is_not_stored(
        self, alice, alice_profile, titles, rf
    ):
        browser = browser_client(alice, alice_profile)
        warm(browser)
        assert not rendered(browser.get("/"))
        # a message waiting in its cookie, as a redirect after a form leaves it
        encoded = CookieStorage(rf.get("/"))._encode([Message(INFO, "Saved your changes.")])
        browser.cookies[CookieStorage.cookie_name] = encoded
        shown = browser.get("/")
        assert rendered(shown) and b"Saved your changes." in shown.content
        after = browser.get("/")
        assert b"Saved your changes." not in after.content
        assert not rendered(after)  # the stored page is still the one without the message

    def test_no_profile_picked_is_rendered_each_time(self, alice, titles):
        ProfileFactory(account=alice, name="Alice")
        browser = browser_client(alice)
        assert rendered(browser.get("/")) and rendered(browser.get("/"))

    def test_signed_out_landing_is_not_this_cache(self, client, titles):
        assert client.get("/").templates[0].name == "catalog/landing.html"
        assert client.get("/").templates[0].name == "catalog/landing.html"


def test_cache_down_renders_the_page(alice, alice_profile, titles, monkeypatch):
    # every read misses and every write is dropped, as streamsite.cache does with Redis down
    monkeypatch.setattr(cache, "get", lambda key, default=None, version=None: default)
    monkeypatch.setattr(cache, "get_many", lambda keys, version=None: {})
    if hasattr(cache, "get_many_and_count"):
        monkeypatch.setattr(cache, "get_many_and_count", lambda keys, counters: None)
    monkeypatch.setattr(cache, "set", lambda *a, **k: None)
    monkeypatch.setattr(cache, "add", lambda *a, **k: False)
    browser = browser_client(alice, alice_profile)
    for _ in range(2):
        page = browser.get("/")
        assert page.status_code == 200 and rendered(page)
        assert b"Film 0" in page.content and b"Alice" in page.content
        assert _unmask_cipher_token(token_of(page.content)) == browser.cookies["csrftoken"].value
