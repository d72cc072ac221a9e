"""Demo viewers (`make demo`): N_ACCOUNTS accounts of PROFILES_PER_ACCOUNT profiles, each in a
taste group (catalog.demo.TASTE_GROUPS) whose history favours that group's genres, plus a little
progress and My List for the demo staff and viewer profiles so Home shows every row.

Deterministic and idempotent: profiles are keyed by external ids, events by import keys.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.utils import timezone
from django.utils import timezone as django_timezone

from accounts.models import Maturity, Profile, User
from catalog.demo import (
    COUNTRIES,
    DEMO_PASSWORD,
    FIRST,
    SEED,
    SOURCE,
    TASTE_GROUPS,
    DemoTitle,
    demo_titles,
    plan_titles,
)
from catalog.models import Title
from playback.models import ThumbRating, ViewingEvent
from playback.services.activity import (
    my_list_add,
    popularity_refresh,
    record_progress,
    titles_for_profile,
)

N_ACCOUNTS = 100
PROFILES_PER_ACCOUNT = 3


def _seed_viewers(specs: list[DemoTitle], titles: list[Title], rng: random.Random, now: Any) -> int:
    """Accounts with profiles in taste groups, and their viewing history and thumbs."""
    groups = list(TASTE_GROUPS)
    password = make_password(DEMO_PASSWORD)
    emails = [f"viewer{a + 1}@demo.streamsite.localhost" for a in range(N_ACCOUNTS)]
    User.objects.bulk_create(
        [
            User(email=email, password=password, country=COUNTRIES[a % len(COUNTRIES)])
            for a, email in enumerate(emails)
        ],
        ignore_conflicts=True,
    )
    # Demo viewers sign in like real ones, so their addresses count as verified.
    User.objects.filter(email__in=emails, email_verified_at__isnull=True).update(
        email_verified_at=django_timezone.now()
    )
    accounts = dict(User.objects.filter(email__in=emails).values_list("email", "pk"))
    profiles = []
    for a, email in enumerate(emails):
        for p in range(PROFILES_PER_ACCOUNT):
            n = a * PROFILES_PER_ACCOUNT + p
            group = groups[n % len(groups)]
            kids = group == "families"  # the family profiles are Kids profiles
            profiles.append(
                Profile(
                    account_id=accounts[email],
                    name=f"{FIRST[n % len(FIRST)]} ({group})",
                    maturity=Maturity.KIDS if kids else Maturity.ADULTS,
                    is_kids=kids,
                    external_id=f"{SOURCE}:{n}:{group}",
                )
            )
    Profile.objects.bulk_create(profiles, ignore_conflicts=True)
    stored = list(
        Profile.objects.filter(external_id__startswith=f"{SOURCE}:").select_related("account")
    )
    events, ratings = [], []
    by_genre: dict[str, list[int]] = {}
    for idx, spec in enumerate(specs):
        for g in spec.genres:
            by_genre.setdefault(g, []).append(idx)
    for profile in stored:
        group = profile.external_id.rsplit(":", 1)[1]
        liked = {i for g in TASTE_GROUPS[group] for i in by_genre.get(g, [])}
        others = [i for i in range(len(specs)) if i not in liked]
        picks = rng.sample(sorted(liked), min(len(liked), rng.randint(10, 16)))
        picks += rng.sample(others, rng.randint(2, 5))
        for k, idx in enumerate(picks):
            title = titles[idx]
            if profile.maturity < title.maturity_level:
                continue
            at = now - timedelta(days=rng.randint(1, 300), minutes=k)
            duration = (specs[idx].runtime or 90) * 60
            finished = idx in liked and rng.random() < 0.85 or rng.random() < 0.25
            position = duration if finished else int(duration * rng.uniform(0.1, 0.6))
            events.append(
                ViewingEvent(
                    profile=profile,
                    title=title,
                    event_type="complete" if finished else "progress",
                    position_seconds=position,
                    duration_seconds=duration,
                    occurred_at=at,
                    import_key=f"{SOURCE}:{profile.pk}:{title.pk}",
                )
            )
            if rng.random() < 0.6:
                value = 1 if (idx in liked) == (rng.random() < 0.9) else -1
                ratings.append(ThumbRating(profile=profile, title=title, value=value, rated_at=at))
    ViewingEvent.objects.bulk_create(events, batch_size=1000, ignore_conflicts=True)
    ThumbRating.objects.bulk_create(ratings, batch_size=1000, ignore_conflicts=True)
    return len(stored)


def _seed_staff_profile(titles: list[Title], now: Any) -> None:
    """Give the demo staff account a profile with a little history so Home shows every row."""
    staff = User.objects.filter(email="admin@streamsite.localhost").first()
    if staff is None or staff.profiles.exists():
        return
    _seed_watching(Profile.objects.create(account=staff, name="Demo"), titles, now)


def _seed_viewer_profiles(titles: list[Title], now: Any) -> None:
    """The demo viewer's grown-up profiles are part-way through a few titles (Continue Watching)."""
    for profile in Profile.objects.filter(
        account__email="viewer@streamsite.localhost", name__in=("Alex", "Sam")
    ):
        if not profile.progress.exists():
            _seed_watching(profile, titles, now, offset=3 if profile.name == "Sam" else 0)


def _seed_watching(profile: Profile, titles: list[Title], now: Any, offset: int = 0) -> None:
    visible = [t for t in titles if titles_for_profile(profile).filter(pk=t.pk).exists()]
    for k, title in enumerate(visible[offset : offset + 6]):
        duration = (title.runtime_minutes or 45) * 60
        record_progress(
            profile=profile,
            title=title,
            position_seconds=int(duration * (0.2 + 0.1 * k)),
            duration_seconds=duration,
            occurred_at=now - timedelta(hours=k),
        )
    for title in visible[offset + 10 : offset + 16]:
        my_list_add(profile=profile, title=title)


def seed(*, stdout: Any = None) -> int:
    """Seed the demo viewers and their history over the catalogue's demo titles; safe to rerun."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    specs = plan_titles(random.Random(SEED))
    titles = demo_titles(specs)
    if len(titles) != len(specs):
        if stdout is not None:
            stdout.write("Demo viewers: the demo catalogue is not seeded; nothing to watch.")
        return 0
    viewers = _seed_viewers(specs, titles, random.Random(7), now)
    _seed_staff_profile(titles, now)
    _seed_viewer_profiles(titles, now)
    popularity_refresh()
    if stdout is not None:
        stdout.write(
            f"Demo viewers: {viewers} profiles "
            f"(sign in as viewer1@demo.streamsite.localhost / {DEMO_PASSWORD})."
        )
    return viewers
