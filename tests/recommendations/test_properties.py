"""Property: over random catalogues and profiles, no row ever holds a title the profile may not
see (region, maturity, unpublished), has finished, or has in its history."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from accounts.models import Maturity
from catalog.models import Availability, Title
from playback.models import Progress, ThumbRating
from recommendations import rows, selectors, services
from tests.factories import UserFactory
from tests.recommendations.factories import ProfileFactory

RATINGS = {"G": 10, "PG-13": 20, "R": 30}
COUNTRIES = ["US", "FR", ""]

title_spec = st.tuples(
    st.sampled_from(list(RATINGS)), st.sampled_from(COUNTRIES), st.booleans(), st.booleans()
)
profile_spec = st.tuples(
    st.sampled_from(["US", "FR"]),
    st.sampled_from([Maturity.KIDS, Maturity.TEENS, Maturity.ADULTS]),
    st.lists(st.integers(0, 11), min_size=1, max_size=6),  # history (title indexes)
    st.lists(st.integers(0, 11), max_size=2),  # finished, not yet folded
)


@hsettings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    titles=st.lists(title_spec, min_size=12, max_size=12),
    viewers=st.lists(profile_spec, min_size=4, max_size=6),
)
def test_rows_never_break_region_maturity_or_seen_rules(db, settings, titles, viewers):
    settings.RECS_ALLOWED_ITEMS_PROVIDER = "recommendations.rows.allowed_for_profile"
    selectors._loaded.clear()
    with transaction.atomic():
        now = timezone.now()
        made = []
        for n, (rating, country, published, open_window) in enumerate(titles):
            t = Title.objects.create(
                name=f"P{n}", slug=f"p-{n}", rating=rating, is_published=published
            )
            start = now - timedelta(days=1) if open_window else now + timedelta(days=3)
            Availability.objects.create(title=t, country=country, starts_at=start)
            made.append(t)
        profiles = []
        for country, maturity, history, finished in viewers:
            p = ProfileFactory(account=UserFactory(country=country), maturity=maturity)
            # history as viewing activity (thumbs up): training folds activity first, so
            # interactions written without any activity behind them would be dropped
            for i in sorted(set(history)):
                ThumbRating.objects.create(
                    profile=p, title=made[i], value=ThumbRating.UP, rated_at=now
                )
            for i in set(finished):
                Progress.objects.create(
                    profile=p,
                    title=made[i],
                    duration_seconds=60,
                    position_seconds=60,
                    completed=True,
                    last_event_at=now,
                )
            profiles.append((p, {made[i].pk for i in history}, {made[i].pk for i in finished}))
        version = services.train(algorithm="ease", params={"lambda_": 1.0})
        if version.status == "candidate":
            services.promote(version=version)
        # a degenerate catalogue may fail to train: the rows must hold without a model too
        for p, seen, done in profiles:
            p.refresh_from_db()
            visible = {
                t.pk
                for t in made
                if t.is_published
                and RATINGS[t.rating] <= p.maturity
                and Availability.objects.filter(
                    title=t, country__in=[p.account.country, ""], starts_at__lte=now
                ).exists()
            }
            got = rows.compute_rows(p)
            shown = [t for r in got for t in r.title_ids]
            assert len(shown) == len(set(shown))
            assert set(shown) <= visible - seen - done
            assert set(rows.top_picks(p, k=10)) <= visible - seen - done
        transaction.set_rollback(True)
    selectors._loaded.clear()
