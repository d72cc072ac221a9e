"""Browser sessions from the cache and their users from the process's memory
(accounts.session_store, accounts.middleware.session_user): a warm session costs no query, and
every way a session ends or its user changes is seen on the very next request while both
are warm; with the cache down, sessions work from the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core import signing
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services, session_store, token_cache
from accounts.models import User, UserSession
from accounts.session_store import SessionStore
from accounts.tasks import clear_expired_sessions
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Mobile Safari"


@pytest.fixture(autouse=True)
def _session_cache_on(settings, household):
    """alice verified (she can sign in), and the session cache at its default."""
    settings.SESSION_CACHE_SECONDS = 30


def signed_in(user: User, agent: str = FIREFOX) -> Client:
    client = Client(HTTP_USER_AGENT=agent)
    assert client.post("/login/", {"email": user.email, "password": PASSWORD}).status_code == 302
    return client


def key_of(client: Client) -> str:
    return str(client.cookies["sessionid"].value)


def session_and_user_queries(client: Client, path: str = "/account/") -> tuple[int, list[str]]:
    """(status, the queries that read a session or a user) of one request."""
    with CaptureQueriesContext(connection) as ctx:
        status = client.get(path).status_code
    sql = [q["sql"] for q in ctx.captured_queries]
    return status, [s for s in sql if "django_session" in s or '"accounts_user"' in s]


def warm(client: Client) -> None:
    """A request or two until the session is cached and its user remembered, then one that
    proves it: no session or user query."""
    client.get("/account/")
    status, sql = session_and_user_queries(client)
    assert status == 200 and sql == []
    assert cache.get(session_store.cache_key(key_of(client)))["_auth_user_id"]


def signed_out(client: Client) -> bool:
    response = client.get("/account/")
    return response.status_code == 302 and response["Location"].startswith("/login/")


class TestWarm:
    def test_a_warm_session_reads_neither_the_session_nor_the_user(self, alice):
        client = signed_in(alice)
        warm(client)
        status, sql = session_and_user_queries(client, "/account/devices/")
        assert (status, sql) == (200, [])

    def test_with_the_setting_at_zero_both_come_from_the_database(self, alice, settings):
        client = signed_in(alice)
        settings.SESSION_CACHE_SECONDS = 0
        client.get("/account/")
        status, sql = session_and_user_queries(client)
        assert status == 200
        assert ["django_session" in s for s in sql] == [True, False]

    def test_each_request_gets_its_own_user_object(self, alice):
        client = signed_in(alice)
        warm(client)
        first = token_cache.user_lookup(alice.pk)
        first.email = "changed@example.com"
        assert token_cache.user_lookup(alice.pk).email == "alice@example.com"


class TestEndedOnTheNextRequest:
    def test_one_device_signed_out_from_another(self, alice):
        laptop, phone = signed_in(alice), signed_in(alice, IPHONE)
        warm(laptop)
        warm(phone)
        row = UserSession.objects.get(session_key=key_of(phone))
        assert laptop.post(f"/account/devices/{row.pk}/revoke/").status_code == 302
        assert signed_out(phone)
        assert not signed_out(laptop)

    def test_sign_out_everywhere_else(self, alice):
        laptop, phone = signed_in(alice), signed_in(alice, IPHONE)
        warm(laptop)
        warm(phone)
        assert laptop.post("/account/devices/revoke-all/").status_code == 302
        assert signed_out(phone)
        assert not signed_out(laptop)

    def test_a_session_without_a_device_row_ends_with_sign_out_everywhere(self, alice):
        # No device row to find it by: the auth hash (session_epoch) ends it, through the
        # user remembered under the epoch.
        laptop, phone = signed_in(alice), signed_in(alice, IPHONE)
        warm(phone)
        UserSession.objects.filter(session_key=key_of(phone)).delete()
        services.sessions_revoke_all(user=alice, keep_session_key=key_of(laptop))
        assert Session.objects.filter(session_key=key_of(phone)).exists()
        assert signed_out(phone)

    def test_password_changed(self, alice):
        laptop, phone = signed_in(alice), signed_in(alice, IPHONE)
        warm(laptop)
        warm(phone)
        old_key = key_of(laptop)
        response = laptop.post(
            "/account/",
            {
                "action": "password",
                "old_password": PASSWORD,
                "new_password": "a new stapled battery",
            },
        )
        assert response.status_code == 302
        assert signed_out(phone)
        assert not signed_out(laptop)
        # the kept session moved to a new key (django.contrib.auth.update_session_auth_hash);
        # the old key's cached copy ended with it
        assert key_of(laptop) != old_key
        replay = Client()
        replay.cookies["sessionid"] = old_key
        assert signed_out(replay)

    def test_password_reset(self, alice):
        phone = signed_in(alice, IPHONE)
        warm(phone)
        alice.set_password("reset by link")
        alice.save(update_fields=["password"])  # what password_reset_confirm saves
        assert signed_out(phone)

    def test_account_deactivated(self, alice):
        phone = signed_in(alice, IPHONE)
        warm(phone)
        services.account_deactivate(user=alice)
        assert signed_out(phone)

    def test_account_deleted(self, alice, settings):
        settings.ACCOUNTS_ERASE_PROVIDERS = []
        laptop, phone = signed_in(alice), signed_in(alice, IPHONE)
        warm(laptop)
        warm(phone)
        response = laptop.post("/account/delete/", {"password": PASSWORD})
        assert response.status_code == 200
        assert not User.objects.filter(pk=alice.pk).exists()
        assert signed_out(phone)
        assert signed_out(laptop)

    def test_signed_out_cookie_replayed(self, alice):
        laptop = signed_in(alice)
        warm(laptop)
        stolen = key_of(laptop)
        assert laptop.post("/logout/").status_code == 302
        replay = Client()
        replay.cookies["sessionid"] = stolen
        assert signed_out(replay)

    def test_staff_flag_taken_away(self, alice):
        alice.is_staff = alice.is_superuser = True
        alice.save(update_fields=["is_staff", "is_superuser"])
        client = signed_in(alice)
        client.get("/admin/")
        assert client.get("/admin/").status_code == 200
        alice.is_staff = alice.is_superuser = False
        alice.save(update_fields=["is_staff", "is_superuser"])
        assert client.get("/admin/").status_code == 302

    def test_a_change_in_another_process(self, alice):
        # Another process changed the row (no signal here) and bumped the shared epoch.
        client = signed_in(alice)
        warm(client)
        User.objects.filter(pk=alice.pk).update(is_active=False)
        assert not signed_out(client)  # this process did not hear of it: still remembered
        cache.incr(token_cache.EPOCH_KEY)
        assert signed_out(client)

    def test_address_verified_by_link(self, bob):
        # email_verify marks the address with a queryset update (no signal): it moves the epoch
        client = Client()
        client.force_login(bob)
        client.get("/account/")
        assert token_cache.user_lookup(bob.pk).email_verified_at is None
        token = signing.dumps({"u": bob.pk, "e": bob.email}, salt=services.VERIFY_SALT)
        services.email_verify(token=token)
        assert token_cache.user_lookup(bob.pk).email_verified_at is not None

    def test_expired_sessions_cleared(self, alice):
        client = signed_in(alice)
        warm(client)
        Session.objects.filter(session_key=key_of(client)).update(
            expire_date=timezone.now() - timedelta(seconds=1)
        )
        assert clear_expired_sessions() == 1
        assert signed_out(client)


class TestRaces:
    def test_a_row_read_just_before_its_deletion_is_not_cached_again(self, alice, monkeypatch):
        phone = signed_in(alice, IPHONE)
        key = key_of(phone)
        cache.delete(session_store.cache_key(key))  # the cached copy expired
        read = SessionStore._get_session_from_db

        def read_then_revoked(self):
            row = read(self)
            session_store.delete_sessions([key])  # a revocation lands between read and cache
            return row

        monkeypatch.setattr(SessionStore, "_get_session_from_db", read_then_revoked)
        phone.get("/account/")  # this request still had the row it read
        monkeypatch.undo()
        assert cache.get(session_store.cache_key(key)) == session_store.ENDED
        assert signed_out(phone)

    def test_an_ended_session_reads_as_a_new_one(self, alice):
        phone = signed_in(alice, IPHONE)
        warm(phone)
        key = key_of(phone)
        session_store.delete_sessions([key])
        store = SessionStore(key)
        assert store.load() == {} and store.session_key is None
        store["x"] = 1
        store.save()  # a new session with a new key, not an error
        assert store.session_key != key
        assert Session.objects.filter(session_key=store.session_key).exists()

    def test_an_ended_key_is_not_handed_out_again(self, alice):
        phone = signed_in(alice, IPHONE)
        key = key_of(phone)
        session_store.delete_sessions([key])
        assert SessionStore().exists(key)

    def test_a_cached_copy_lives_at_most_the_setting(self, alice, settings, monkeypatch):
        settings.SESSION_CACHE_SECONDS = 7
        timeouts = []
        real_set = cache.set

        def spy(key, value, timeout=None, **kwargs):
            if key.startswith(session_store.KEY_PREFIX):
                timeouts.append(timeout)
            return real_set(key, value, timeout, **kwargs)

        monkeypatch.setattr(cache, "set", spy)
        signed_in(alice)
        assert timeouts and set(timeouts) == {7}


class TestCacheDown:
    def test_sign_in_and_pages_work_from_the_database(self, alice, dead_cache):
        client = signed_in(alice)
        status, sql = session_and_user_queries(client)
        assert status == 200
        assert ["django_session" in s for s in sql] == [True, False]

    def test_revocation_is_seen_at_once(self, alice, dead_cache):
        laptop, phone = signed_in(alice), signed_in(alice, IPHONE)
        assert not signed_out(phone)
        assert laptop.post("/account/devices/revoke-all/").status_code == 302
        assert signed_out(phone)
        assert not signed_out(laptop)
