"""The demo viewers: profiles in taste groups whose history favours their genres, idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.utils import timezone

from accounts.models import Maturity, Profile, User
from catalog import demo
from catalog.models import Title
from playback.demo import viewers
from playback.models import Progress, ThumbRating, ViewingEvent
from playback.selectors import continue_watching


@pytest.fixture
def small_demo(settings, tmp_path, monkeypatch):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path), "base_url": "/media/"},
        },
    }
    monkeypatch.setattr(demo, "N_TITLES", 26)
    monkeypatch.setattr(viewers, "N_ACCOUNTS", 12)
    monkeypatch.setattr(demo, "POSTER_SIZE", (320, 480))
    monkeypatch.setattr(demo, "BACKDROP_SIZE", (480, 270))


def counts():
    return (Profile.objects.count(), ViewingEvent.objects.count(), ThumbRating.objects.count())


@pytest.mark.django_db
def test_without_the_demo_catalogue_no_viewer_is_made(small_demo):
    out = StringIO()
    assert viewers.seed(stdout=out) == 0
    assert counts() == (0, 0, 0)
    assert "not seeded" in out.getvalue()


@pytest.mark.django_db
def test_demo_viewers_have_a_planted_taste_and_seeding_twice_adds_nothing(small_demo):
    demo.seed(stdout=StringIO())
    assert viewers.seed(stdout=StringIO()) == 12 * 3
    first = counts()
    assert first[0] == 12 * 3
    viewers.seed(stdout=StringIO())
    assert counts() == first

    # demo viewers can sign in: accounts only lets verified addresses in
    people = User.objects.filter(email__endswith="@demo.streamsite.localhost")
    assert people.count() == 12
    assert not people.filter(email_verified_at__isnull=True).exists()

    # planted taste: each group watches its genres far more often than the catalogue offers them
    titles = {
        t.pk: {g.name for g in t.genres.all()} for t in Title.objects.prefetch_related("genres")
    }
    for group, genres in demo.TASTE_GROUPS.items():
        liked = set(genres)
        base = sum(1 for g in titles.values() if liked & g) / len(titles)
        events = ViewingEvent.objects.filter(profile__external_id__endswith=f":{group}")
        watched = [titles[e.title_id] for e in events]
        share = sum(1 for g in watched if liked & g) / len(watched)
        assert share >= base + 0.15, (group, share, base)


@pytest.mark.django_db
def test_the_demo_viewer_has_titles_to_continue(small_demo):
    from accounts import demo as accounts_demo
    from billing import demo as billing_demo

    billing_demo.seed(stdout=StringIO())
    accounts_demo.seed(stdout=StringIO())
    demo.seed(stdout=StringIO())
    viewers.seed(stdout=StringIO())
    alex = Profile.objects.get(account__email="viewer@streamsite.localhost", name="Alex")
    kids = Profile.objects.get(account__email="viewer@streamsite.localhost", name="Kids")
    rows = continue_watching(alex)
    assert len(rows) == 6  # six titles part-way through, most recent first
    assert all(0 < row.position_seconds < row.duration_seconds for row in rows)
    assert continue_watching(kids) == []
    before = Progress.objects.count()
    viewers.seed(stdout=StringIO())
    assert Progress.objects.count() == before


@pytest.mark.django_db
def test_the_test_pattern_the_demo_prints_plays_for_every_profile_anywhere(monkeypatch):
    """`make demo` prints "Test Pattern is ready at /watch/<id>/": that page must not refuse the
    demo's viewers (it did: no licensing window anywhere, and unrated, so above a child's
    profile). Seeding again keeps the windows someone has set since."""
    from catalog.models import Availability
    from catalog.services.titles import availability_set
    from playback.demo import clip
    from playback.ports import check_viewing_allowed
    from tests.factories import ProfileFactory

    monkeypatch.setattr(clip, "ffmpeg_available", lambda: False)  # the video is another test's
    out = StringIO()
    clip.seed_demo(stdout=out)
    title = Title.objects.get(slug=clip.DEMO_SLUG)
    adult = ProfileFactory()
    kids = ProfileFactory(is_kids=True, maturity=Maturity.KIDS)
    for profile in (adult, kids):
        for country in ("US", "DE", "BR"):
            assert (
                check_viewing_allowed(profile=profile, title=title, episode=None, country=country)
                is None
            ), (profile.name, country)

    clip.seed_demo(stdout=StringIO())
    assert Availability.objects.filter(title=title).count() == 1
    availability_set(title=title, windows=[("FR", timezone.now(), None)])
    clip.seed_demo(stdout=StringIO())
    assert list(Availability.objects.filter(title=title).values_list("country", flat=True)) == [
        "FR"
    ]


@pytest.mark.django_db
def test_a_demo_database_seeded_before_the_rating_gets_the_test_pattern_rated(monkeypatch):
    """A database seeded by the earlier seeder holds the Test Pattern unrated (NR: adults only), so
    a kids profile was refused; seeding again rates it G, and keeps a rating chosen since."""
    from catalog.models import ContentRating
    from playback.demo import clip
    from playback.ports import check_viewing_allowed
    from tests.factories import ProfileFactory

    monkeypatch.setattr(clip, "ffmpeg_available", lambda: False)
    title = Title.objects.create(slug=clip.DEMO_SLUG, name="Test Pattern", is_published=True)
    assert title.rating == ContentRating.NR
    kids = ProfileFactory(is_kids=True, maturity=Maturity.KIDS)

    clip.seed_demo(stdout=StringIO())
    title.refresh_from_db()
    assert title.rating == ContentRating.G
    assert check_viewing_allowed(profile=kids, title=title, episode=None, country="US") is None

    Title.objects.filter(pk=title.pk).update(rating=ContentRating.PG_13)
    clip.seed_demo(stdout=StringIO())
    title.refresh_from_db()
    assert title.rating == ContentRating.PG_13
