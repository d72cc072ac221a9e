"""This process's copies of ready assets (media.ready_copies) with the catalogue cache on, as in
production: a warm read asks the database nothing, and every way the served asset can change
(a new version, a withdrawal, subtitles, an edit in the admin, a deletion, another process's
write) is seen on the very next read, while a job's heartbeat invalidates nothing."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction

from media import ready_copies, selectors
from media.models import MediaAsset, Subtitle
from media.transcode import Job
from tests.media.factories import episode, movie
from tests.media.test_ready_asset_media import publish, ready

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def copies_on(settings):
    settings.CATALOG_CACHE_SECONDS = 300
    selectors.forget_version_copies()
    ready_copies.forget()
    yield
    ready_copies.forget()


def media_of(title):
    return selectors.ready_asset_media(title_id=title.pk)


def test_a_warm_read_asks_the_database_nothing(django_assert_num_queries):
    title = movie()
    ready(title)
    first = media_of(title)
    assert first is not None
    with django_assert_num_queries(0):
        assert media_of(title) is first
    ep = episode()
    ready(ep=ep)
    by_episode = selectors.ready_asset_media(episode_id=ep.pk)
    assert by_episode is not None and by_episode.asset_id != first.asset_id


def _new_version(asset):
    publish(asset, 3, (1080,))  # a queryset update of ready_version and the keys


def _withdrawn(asset):
    MediaAsset.objects.filter(pk=asset.pk).update(ready_version=None, content_key="")


def _subtitle_added(asset):
    Subtitle.objects.create(asset=asset, language="es", label="Español", vtt_key="es.vtt")


def _edited_in_the_admin(asset):
    asset.refresh_from_db()
    asset.duration = 99.0
    asset.save()  # every field, no update_fields


def _edited_field_by_field(asset):
    asset.refresh_from_db()
    asset.sprite_key = f"{asset.content_key}/other-sprite.jpg"
    asset.save(update_fields=["sprite_key"])


def _deleted(asset):
    asset.delete()


def _title_deleted(asset):
    asset.title.delete()  # the asset goes by cascade


def _superseded_by_a_newer_asset(asset):
    ready(asset.title, heights=(2160,))


@pytest.mark.parametrize(
    "change, served",
    [
        (_new_version, lambda m: [r.height for r in m.renditions] == [1080]),
        (_withdrawn, lambda m: m is None),
        (_subtitle_added, lambda m: [s.language for s in m.subtitles] == ["es"]),
        (_edited_in_the_admin, lambda m: m.duration == 99.0),
        (_edited_field_by_field, lambda m: m.sprite_key.endswith("/other-sprite.jpg")),
        (_deleted, lambda m: m is None),
        (_title_deleted, lambda m: m is None),
        (_superseded_by_a_newer_asset, lambda m: [r.height for r in m.renditions] == [2160]),
    ],
)
def test_each_change_to_what_a_copy_holds_is_seen_on_the_next_read(change, served):
    title = movie()
    title_id = title.pk  # (a deleted title forgets its own)
    asset = ready(title)
    before = selectors.ready_asset_media(title_id=title_id)
    assert before is not None and not served(before)
    change(asset)
    assert served(selectors.ready_asset_media(title_id=title_id))


def test_a_subtitle_relabelled_or_removed_is_seen_at_once():
    title = movie()
    asset = ready(title)
    sub = Subtitle.objects.create(asset=asset, language="fr", label="French", vtt_key="fr.vtt")
    assert [s.label for s in media_of(title).subtitles] == ["French"]
    sub.label = "Français"
    sub.save()
    assert [s.label for s in media_of(title).subtitles] == ["Français"]
    Subtitle.objects.filter(pk=sub.pk).update(label="Francés")  # an update sends no signal
    assert [s.label for s in media_of(title).subtitles] == ["Francés"]
    Subtitle.objects.filter(pk=sub.pk).delete()
    assert media_of(title).subtitles == ()


def test_a_title_without_an_asset_is_remembered_until_one_is_ready(django_assert_num_queries):
    title = movie()
    assert media_of(title) is None
    with django_assert_num_queries(0):
        assert media_of(title) is None
    asset = MediaAsset.objects.create(title=title)  # queued: still nothing to serve
    assert media_of(title) is None
    publish(asset, 1, (480,))
    assert [r.height for r in media_of(title).renditions] == [480]


def test_a_job_s_heartbeat_and_progress_leave_the_copies_alone(django_assert_num_queries):
    title = movie()
    asset = ready(title)
    MediaAsset.objects.filter(pk=asset.pk).update(status=MediaAsset.Status.TRANSCODING, version=3)
    media = media_of(title)
    version = ready_copies.ready_version()
    job = Job(asset.pk, 3)
    assert job.touch()
    job.update(progress=40)
    assert ready_copies.ready_version() == version
    with django_assert_num_queries(0):
        assert media_of(title) is media


def test_another_process_s_change_is_seen_through_the_shared_version():
    title = movie()
    asset = ready(title)
    assert media_of(title).duration == 42.0
    # Another process wrote and bumped: this process's copy is still in its memory.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ready_copies, "ready_changed", lambda: None)  # its bump is not ours
        MediaAsset.objects.filter(pk=asset.pk).update(duration=7.0)
    assert media_of(title).duration == 42.0  # the version has not moved: the copy stands
    cache.incr(ready_copies.VERSION_KEY)  # what the other process's bump does here
    assert media_of(title).duration == 7.0


def test_a_change_racing_a_read_is_not_kept_under_the_version_read_before_it():
    answers = iter(["read while a change committed", "read after"])

    def read():
        answer = next(answers)
        if answer.startswith("read while"):
            cache.incr(ready_copies.VERSION_KEY)  # another process's bump, mid-read
        return answer

    assert ready_copies.copied("title", 1, read) == "read while a change committed"
    assert ready_copies.copied("title", 1, read) == "read after"


def test_what_a_transaction_reads_of_its_own_writes_is_not_copied_past_a_rollback():
    title = movie()
    ready(title)
    assert media_of(title).subtitles == ()
    with pytest.raises(RuntimeError), transaction.atomic():
        asset = MediaAsset.objects.get(title=title)
        Subtitle.objects.create(asset=asset, language="de", label="Deutsch", vtt_key="de.vtt")
        assert [s.language for s in media_of(title).subtitles] == ["de"]  # its own write
        raise RuntimeError("the upload failed after the row was written")
    assert media_of(title).subtitles == ()


def test_with_the_cache_away_every_read_goes_to_the_rows(dead_cache, django_assert_num_queries):
    title = movie()
    ready(title)
    first = media_of(title)
    assert first is not None
    with django_assert_num_queries(1):
        assert media_of(title) == first
    assert ready_copies.ready_version() is None


def test_off_when_the_catalogue_cache_is_off(settings, django_assert_num_queries):
    settings.CATALOG_CACHE_SECONDS = 0
    title = movie()
    ready(title)
    media_of(title)
    with django_assert_num_queries(1):
        media_of(title)


@pytest.mark.django_db(transaction=True)
def test_the_shared_version_moves_once_the_write_commits_and_not_inside_it(incr_calls):
    """Other processes learn of a change from the shared version: bumped by the commit, once
    for all its writes (no Redis call inside the transaction), never by a rolled-back write."""
    title = movie()
    asset = ready(title)
    media_of(title)
    version = ready_copies.ready_version()
    bumps = incr_calls
    bumps.clear()  # the setup's own bumps
    with transaction.atomic():
        Subtitle.objects.create(asset=asset, language="it", label="Italiano", vtt_key="i.vtt")
        Subtitle.objects.create(asset=asset, language="de", label="Deutsch", vtt_key="d.vtt")
        assert ready_copies.ready_version() == version  # nothing sent before the commit
        assert bumps == []
    assert bumps == [ready_copies.VERSION_KEY]  # once, after the commit
    assert ready_copies.ready_version() == version + 1
    with pytest.raises(RuntimeError), transaction.atomic():
        MediaAsset.objects.filter(pk=asset.pk).update(duration=1.0)
        raise RuntimeError("rolled back")
    assert ready_copies.ready_version() == version + 1
    assert bumps == [ready_copies.VERSION_KEY]
