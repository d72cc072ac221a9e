"""Shared-cache bumps wait for the commit of the transaction that announced them
(streamsite.db.transactions.CommitHook): the catalogue version, the auth epoch, an account's
entitlements and a profile's home-page stamp move once, after the commit, never inside the
transaction; the writer's own reads skip the shared copies meanwhile; a rollback moves
nothing."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction

from accounts import token_cache
from catalog import caching
from catalog.models import Title
from tests.catalog.factories import TitleFactory


def shared(key: str):
    return cache.get(key)


@pytest.mark.django_db(transaction=True)
class TestCommitted:
    def test_the_catalogue_version_moves_once_after_the_commit(self, incr_calls):
        before = caching.catalog_version()
        with transaction.atomic():
            for i in range(3):
                TitleFactory(name=f"T{i}")  # each save announces the change
            assert shared(caching.VERSION_KEY) == before  # nothing sent inside
            assert caching.catalog_version() is None  # the writer's reads skip the fragments
            assert incr_calls == []
        assert incr_calls == [caching.VERSION_KEY]  # once, for the whole transaction
        assert caching.catalog_version() == before + 1

    def test_a_rollback_moves_nothing_and_leaves_no_mark(self, incr_calls):
        before = caching.catalog_version()
        with pytest.raises(RuntimeError), transaction.atomic():
            TitleFactory()
            raise RuntimeError("undo")
        assert incr_calls == []
        assert caching.catalog_version() == before

    def test_a_rolled_back_savepoint_takes_its_announcement_with_it(self, incr_calls):
        before = caching.catalog_version()
        with transaction.atomic():
            with pytest.raises(RuntimeError), transaction.atomic():
                TitleFactory()
                raise RuntimeError("undo the savepoint")
            assert caching.catalog_version() == before  # nothing of it is waiting
        assert incr_calls == []

    def test_an_announcement_before_a_rolled_back_savepoint_stands(self, incr_calls):
        before = caching.catalog_version()
        with transaction.atomic():
            TitleFactory()
            with pytest.raises(RuntimeError), transaction.atomic():
                TitleFactory()
                raise RuntimeError("undo the savepoint only")
            assert caching.catalog_version() is None  # the first write still waits
            TitleFactory()
        assert incr_calls == [caching.VERSION_KEY]
        assert caching.catalog_version() == before + 1

    def test_the_writer_reads_its_own_write_through_the_fragments(self, settings):
        settings.CATALOG_CACHE_SECONDS = 300
        title = TitleFactory(name="Before")
        caching.forget_copies()
        from catalog.selectors.titles import new_releases
        from catalog.selectors.viewer import Viewer

        viewer = Viewer(country="US", max_maturity=18)
        assert [t.name for t in new_releases(viewer)] == ["Before"]  # cached
        with transaction.atomic():
            Title.objects.filter(pk=title.pk).update(name="After")
            caching.catalog_changed()
            assert [t.name for t in new_releases(viewer)] == ["After"]
        assert [t.name for t in new_releases(viewer)] == ["After"]

    def test_the_auth_epoch_moves_after_the_commit(self, alice, incr_calls):
        token_cache._epoch()  # started
        before = shared(token_cache.EPOCH_KEY)
        with transaction.atomic():
            alice.first_name = "Alice"
            alice.save()  # announces an auth change
            assert shared(token_cache.EPOCH_KEY) == before
            assert token_cache._epoch() is None  # nothing is remembered meanwhile
        assert incr_calls == [token_cache.EPOCH_KEY]
        assert shared(token_cache.EPOCH_KEY) == before + 1

    def test_entitlements_are_dropped_after_the_commit_and_not_stored_inside(self, alice):
        from billing import entitlements

        key = entitlements.cache_key(alice.pk)
        entitlements.get_entitlements(alice)
        assert cache.get(key) is not None
        with transaction.atomic():
            entitlements.invalidate(alice.pk)
            assert cache.get(key) is not None  # nothing sent inside
            cache.delete(key)  # as if it had expired: a read inside must not store it again
            entitlements.get_entitlements(alice)  # computed from this transaction's rows
            assert cache.get(key) is None
            entitlements.get_entitlements(alice)
            cache.set(key, {"value": {}, "valid_until": None})  # another process stores old
        assert cache.get(key) is None  # the commit's delete removed it

    def test_a_profiles_home_stamp_moves_after_the_commit(self):
        from catalog import home_cache

        profile_id = 7
        key = home_cache.activity_key(profile_id)
        cache.set(key, 100, timeout=None)
        with transaction.atomic():
            home_cache.activity_changed(profile_id)
            home_cache.activity_changed(profile_id)
            assert cache.get(key) == 100
        assert cache.get(key) == 101  # once, for both announcements


@pytest.mark.django_db
def test_under_a_test_case_transaction_the_bump_is_at_once(incr_calls):
    """A test case's own transaction never commits, so on-commit callbacks never run there:
    the change is applied when announced, as before the hook."""
    before = caching.catalog_version()
    with transaction.atomic():
        TitleFactory()  # its saves bump, each at once
        assert incr_calls and set(incr_calls) == {caching.VERSION_KEY}
        assert caching.catalog_version() == before + len(incr_calls)


@pytest.mark.django_db
def test_outside_a_transaction_the_bump_is_at_once(incr_calls):
    before = caching.catalog_version()
    caching.catalog_changed()
    assert caching.catalog_version() == before + 1
