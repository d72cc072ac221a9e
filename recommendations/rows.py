"""The personalised home rows of a profile: assembled, filtered, cached per profile in Redis.

`rows_for_profile(profile)` is the catalogue home page's provider (CATALOG_HOME_ROWS_PROVIDER).
Rows are precomputed after a model goes live (bounded batches) and kept in the Django cache;
a miss computes them on the fly (one model scoring, a handful of queries) and caches them.
A profile's cached rows are dropped whenever its interactions are refolded, so a title finished
a minute ago moves "Because you watched" at the next fold (every minute).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from accounts.models import Profile
from accounts.selectors import supported_language
from catalog.models import Title
from catalog.selectors.titles import titles_for_profile, with_artwork
from catalog.selectors.viewer import viewer_for_profile
from playback.models import Progress, ThumbRating, ViewingEvent
from recommendations import selectors
from recommendations.algorithms import top_k
from recommendations.models import Interaction, ModelVersion

ROW_SIZE = 12
#: how many titles sharing a first genre one row may hold before others go first
PER_GENRE = 4
TRENDING_DAYS = 30
NEW_DAYS = 120
CACHE_SECONDS = 6 * 3600


@dataclass
class Row:
    key: str
    label: str
    title_ids: list[int]
    explanation: dict[int, str] = field(default_factory=dict)


# --- candidate filters (RECS_ALLOWED_ITEMS_PROVIDER) ---------------------------------------------
def allowed_for_profile(profile: Profile) -> set[int]:
    """Titles the profile may be shown: published, available in its country, within its maturity.

    The RECS_ALLOWED_ITEMS_PROVIDER; evaluation uses it too (finished titles are excluded at
    serving time instead, because held-out titles are watched ones).
    """
    return set(titles_for_profile(profile).values_list("id", flat=True))


def _allowed_key(profile: Profile) -> tuple[str, int]:
    """What `allowed_for_profile` depends on: evaluation asks once per key, not per profile."""
    viewer = viewer_for_profile(profile)
    return (viewer.country, viewer.max_maturity)


allowed_for_profile.cache_key = _allowed_key  # type: ignore[attr-defined]


def finished_title_ids(profile: Profile) -> set[int]:
    """Movies the profile finished (a completed progress row or a completion event)."""
    done = set(
        Progress.objects.filter(profile=profile, episode__isnull=True, completed=True).values_list(
            "title_id", flat=True
        )
    )
    done.update(
        ViewingEvent.objects.filter(
            profile=profile, episode__isnull=True, event_type=ViewingEvent.Type.COMPLETE
        ).values_list("title_id", flat=True)
    )
    return done


def _blocked(profile: Profile) -> set[int]:
    """Never recommend: finished titles, thumbs-down titles, anything already in the history."""
    blocked = finished_title_ids(profile)
    blocked.update(
        ThumbRating.objects.filter(profile=profile, value=ThumbRating.DOWN).values_list(
            "title_id", flat=True
        )
    )
    blocked.update(Interaction.objects.for_profile(profile.pk).values_list("title_id", flat=True))
    return blocked


# --- assembly ------------------------------------------------------------------------------------
def diversify(ordered: list[int], first_genre: dict[int, int | None], *, size: int) -> list[int]:
    """Keep the order, but at most PER_GENRE titles per first genre until others run out."""
    taken: list[int] = []
    deferred: list[int] = []
    per: dict[int | None, int] = {}
    for tid in ordered:
        g = first_genre.get(tid)
        if g is not None and per.get(g, 0) >= PER_GENRE:
            deferred.append(tid)
            continue
        per[g] = per.get(g, 0) + 1
        taken.append(tid)
        if len(taken) == size:
            return taken
    return (taken + deferred)[:size]


def _first_genres(title_ids: Iterable[int]) -> dict[int, int | None]:
    through = Title.genres.through
    out: dict[int, int | None] = {}
    for tid, gid in (
        through.objects.filter(title_id__in=list(title_ids))
        .order_by("title_id", "genre_id")
        .values_list("title_id", "genre_id")
    ):
        out.setdefault(tid, gid)
    return out


def _trending(country: str, allowed: set[int], now: Any) -> list[tuple[int, int]]:
    """(title id, viewers) in the country over the last TRENDING_DAYS, most viewers first."""
    qs = (
        Interaction.objects.filter(
            profile__account__country=country,
            last_at__gte=now - timedelta(days=TRENDING_DAYS),
            weight__gt=0,
            title_id__in=allowed,
        )
        .values("title_id")
        .annotate(n=Count("profile_id"))
        .order_by("-n", "title_id")[: ROW_SIZE * 4]
    )
    return [(r["title_id"], r["n"]) for r in qs]


def _scores(profile: Profile, title_ids: list[int]) -> dict[int, float]:
    """How well these titles suit the profile, 0 to 1: the live model's fold-in scores (scaled
    by the best among them) for titles it knows, content affinity for titles it does not know
    yet (released since the last training). Empty without history."""
    history = list(
        Interaction.objects.for_profile(profile.pk)
        .for_training()
        .order_by("-last_at", "-id")
        .values_list("title_id", flat=True)
    )
    if not history or not title_ids:
        return {}
    loaded = selectors.live_model()
    known: dict[int, float] = {}
    if loaded is not None:
        hist, _seen = selectors._history(loaded, profile)
        scores = loaded.model.score(hist, users=None, groups=None)[0]
        known = {t: float(scores[loaded.index_of[t]]) for t in title_ids if t in loaded.index_of}
    top = max((v for v in known.values() if v > 0), default=0.0)
    out = {t: (v / top if top > 0 else 0.0) for t, v in known.items()}
    unknown = [t for t in title_ids if t not in known]
    out.update(selectors.content_affinity(history_title_ids=history, title_ids=unknown))
    return out


def row_language(profile: Profile) -> str:
    """The language a profile's rows are labelled in (they are cached per profile, and built
    by tasks too): the profile's, else the account's, else LANGUAGE_CODE (docs/i18n.md)."""
    return (
        supported_language(profile.language)
        or supported_language(profile.account.language)
        or settings.LANGUAGE_CODE
    )


def compute_rows(profile: Profile) -> list[Row]:
    """Build the rows now (no cache): top picks, because you watched, trending, new, labelled
    in the profile's language."""
    with translation.override(row_language(profile)):
        return _compute_rows(profile)


def _compute_rows(profile: Profile) -> list[Row]:
    now = timezone.now()
    allowed = allowed_for_profile(profile) - _blocked(profile)
    country = profile.account.effective_country.upper()
    has_history = Interaction.objects.for_profile(profile.pk).for_training().exists()

    top: list[int] = []
    because_of: dict[int, list[int]] = {}
    if has_history:
        for pick in selectors.recommend_for_profile(profile=profile, k=ROW_SIZE * 4):
            if pick.title_id in allowed:
                top.append(pick.title_id)
                because_of[pick.title_id] = pick.because_title_ids[:2]
    byw = selectors.because_you_watched(profile=profile, k=ROW_SIZE * 4) if has_history else None
    byw_ids = [t for t in byw.title_ids if t in allowed] if byw is not None else []
    trending = _trending(country, allowed, now)
    fresh = list(
        Title.objects.filter(pk__in=allowed, released_at__gte=now - timedelta(days=NEW_DAYS))
        .order_by("-released_at", "-id")
        .values_list("id", flat=True)[: ROW_SIZE * 4]
    )
    scores = _scores(profile, fresh)
    if scores:
        position = {t: i for i, t in enumerate(fresh)}
        fresh.sort(key=lambda t: (-scores.get(t, 0.0), position[t]))

    named = {tid for ids in because_of.values() for tid in ids}
    if byw is not None:
        named.add(byw.source_title_id)
    names = dict(Title.objects.filter(pk__in=named).values_list("id", "name"))
    genres = _first_genres(set(top) | set(byw_ids) | {t for t, _ in trending} | set(fresh))

    rows: list[Row] = []
    shown: set[int] = set()

    def add(key: str, label: str, ordered: list[int], why: dict[int, str]) -> None:
        ids = diversify([t for t in ordered if t not in shown], genres, size=ROW_SIZE)
        if ids:
            shown.update(ids)
            rows.append(
                Row(key=key, label=label, title_ids=ids, explanation={t: why[t] for t in ids})
            )

    add(
        "top_picks",
        gettext("Top picks for %(name)s") % {"name": profile.name},
        top,
        {
            t: _liked_because([names[b] for b in because_of.get(t, []) if b in names], profile)
            for t in top
        },
    )
    if byw is not None:
        watched = gettext("Because you watched %(title)s") % {
            "title": names.get(byw.source_title_id, "")
        }
        add(f"because_{byw.source_title_id}", watched, byw_ids, dict.fromkeys(byw_ids, watched))
    add(
        "trending",
        gettext("Trending now in %(country)s") % {"country": country},
        [t for t, _ in trending],
        {
            t: ngettext(
                "Watched by %(n)d viewer in %(country)s in the last %(days)d days",
                "Watched by %(n)d viewers in %(country)s in the last %(days)d days",
                n,
            )
            % {"n": n, "country": country, "days": TRENDING_DAYS}
            for t, n in trending
        },
    )
    add(
        "new_for_you",
        gettext("New for you"),
        fresh,
        {
            t: gettext("New, and like what you watch")
            if scores.get(t, 0.0) > 0
            else gettext("New on Streamsite")
            for t in fresh
        },
    )
    return rows


def _liked_because(titles: list[str], profile: Profile) -> str:
    if len(titles) >= 2:
        return gettext("Because you liked %(first)s and %(second)s") % {
            "first": titles[0],
            "second": titles[1],
        }
    if titles:
        return gettext("Because you liked %(title)s") % {"title": titles[0]}
    return gettext("Picked for %(name)s") % {"name": profile.name}


# --- cache ---------------------------------------------------------------------------------------
def cache_key_prefix(profile_id: int) -> str:
    return f"recs:rows:{profile_id}"


def live_version_id() -> int:
    return ModelVersion.objects.live().values_list("pk", flat=True).first() or 0


_live_version_id = live_version_id


def _dump(rows: list[Row]) -> list[dict[str, Any]]:
    return [
        {**asdict(r), "explanation": {str(k): v for k, v in r.explanation.items()}} for r in rows
    ]


def _load(raw: list[dict[str, Any]]) -> list[Row]:
    return [
        Row(
            key=r["key"],
            label=r["label"],
            title_ids=[int(t) for t in r["title_ids"]],
            explanation={int(k): v for k, v in r["explanation"].items()},
        )
        for r in raw
    ]


def rows_store(profile: Profile, *, version_id: int | None = None) -> list[Row]:
    """Compute the profile's rows and cache them, tagged with the live model's version."""
    version_id = _live_version_id() if version_id is None else version_id
    rows = compute_rows(profile)
    entry: dict[str, Any] = {
        "version": version_id,
        "language": row_language(profile),
        "rows": _dump(rows),
    }
    # What a cached rows body is stamped with (rows_cache): computed once here, not per read.
    entry["digest"] = entry_digest(entry)
    cache.set(cache_key_prefix(profile.pk), entry, CACHE_SECONDS)
    return rows


def entry_digest(entry: dict[str, Any]) -> str:
    """The digest of a rows entry: what it holds, whatever digest it carries."""
    return hashlib.sha256(repr({**entry, "digest": None}).encode()).hexdigest()[:24]


def cached_rows(profile_id: int, version_id: int, language: str | None = None) -> list[Row] | None:
    """The cached rows when built under `version_id` (and in `language`, when given: a profile
    whose language changed gets rows labelled anew)."""
    hit = cache.get(cache_key_prefix(profile_id))
    if hit is None or hit.get("version") != version_id:
        return None
    if language is not None and hit.get("language") != language:
        return None
    return _load(hit["rows"])


# The live model version, cached: dropped when a model is promoted or rolled back and again
# when the rows recomputation that follows starts (rows_cache.live_model_changed).
LIVE_KEY = "recs:live-version"
LIVE_SECONDS = 300


def cached_live_version_id(known: Any = None) -> int:
    """The live version id from the cache (`known`: already read with other keys), else
    from the database, then cached."""
    if known is not None:
        return int(known)
    live = live_version_id()
    cache.set(LIVE_KEY, live, LIVE_SECONDS)
    return live


def rows_for_profile(profile: Profile) -> list[Row]:
    """The home rows of this profile: precomputed when fresh, else computed now and cached.
    A fresh entry costs one cache round trip (the entry and the live version together); an
    entry labelled in another language than the profile's now is computed anew."""
    got = cache.get_many([cache_key_prefix(profile.pk), LIVE_KEY])
    version_id = cached_live_version_id(got.get(LIVE_KEY))
    hit = got.get(cache_key_prefix(profile.pk))
    if (
        hit is not None
        and hit.get("version") == version_id
        and hit.get("language") == row_language(profile)
    ):
        return _load(hit["rows"])
    return rows_store(profile, version_id=version_id)


def rows_precompute(*, after_id: int = 0, limit: int = 200) -> int | None:
    """Recompute the cached rows of up to `limit` profiles with pk > after_id.

    Returns the last profile id handled (the caller continues from it), or None when done.
    """
    if after_id == 0:  # the first batch after a promotion or rollback committed
        from recommendations.rows_cache import live_model_changed

        live_model_changed()
    version_id = _live_version_id()
    batch = list(
        Profile.objects.filter(pk__gt=after_id).select_related("account").order_by("pk")[:limit]
    )
    for profile in batch:
        rows_store(profile, version_id=version_id)
    if len(batch) < limit:
        return None
    return batch[-1].pk


# --- per-title reads for the API ------------------------------------------------------------------
def more_like_this(*, profile: Profile, title_id: int, k: int = ROW_SIZE) -> list[int]:
    """Titles most similar to `title_id` under the live model that the profile may be shown.

    Finished and thumbs-down titles are left out; with no model (or an unknown title): [].
    """
    loaded = selectors.live_model()
    if loaded is None or title_id not in loaded.index_of:
        return []
    sims = loaded.model.similar_items(loaded.index_of[title_id])
    allowed_ids = allowed_for_profile(profile) - finished_title_ids(profile) - {title_id}
    allowed = np.isin(loaded.title_ids, np.array(sorted(allowed_ids), dtype=np.int64))
    top = top_k(sims, k=k, exclude=sims <= 0, allowed=allowed)
    return [int(loaded.title_ids[i]) for i in top]


@dataclass
class Explanation:
    title_id: int
    text: str
    because_title_ids: list[int]


def explain_for_profile(*, profile: Profile, title_id: int) -> Explanation:
    """Why the live model would suggest `title_id` to the profile: the history titles behind it."""
    loaded = selectors.live_model()
    because: list[int] = []
    if loaded is not None and title_id in loaded.index_of:
        hist, _seen = selectors._history(loaded, profile)
        if hist.nnz:
            because = [
                int(loaded.title_ids[j])
                for j in loaded.model.explain(hist, loaded.index_of[title_id])
            ][:3]
    if not because:
        text = gettext("Popular on Streamsite")
        return Explanation(title_id=title_id, text=text, because_title_ids=[])
    names = dict(Title.objects.filter(pk__in=because).values_list("id", "name"))
    text = gettext("Because you watched %(title)s") % {
        "title": ", ".join(names[b] for b in because if b in names)
    }
    return Explanation(title_id=title_id, text=text, because_title_ids=because)


def onboarding_candidates(profile: Profile, *, limit: int = 24) -> list[Title]:
    """Popular titles the profile may watch, with posters, for the onboarding grid."""
    qs = titles_for_profile(profile).order_by("-view_count", "name", "id")[:limit]
    return list(with_artwork(qs))


def top_picks(profile: Profile, *, k: int = 10) -> list[int]:
    """The profile's top-k from the live model with the home page's filters (export, tests)."""
    blocked = _blocked(profile)
    allowed = allowed_for_profile(profile) - blocked
    picks = selectors.recommend_for_profile(profile=profile, k=k + len(blocked))
    return [p.title_id for p in picks if p.title_id in allowed][:k]


def poster_urls(title_ids: list[int], *, size: str = "md") -> dict[int, str]:
    """Poster URL per title (the size asked for, else the nearest stored one): one query."""
    from catalog.models import Artwork

    storage = Artwork._meta.get_field("image").storage  # type: ignore[attr-defined]
    best: dict[int, tuple[bool, str]] = {}
    for tid, got_size, name in Artwork.objects.filter(
        title_id__in=title_ids, kind="poster"
    ).values_list("title_id", "size", "image"):
        rank = got_size != size
        if name and (tid not in best or rank < best[tid][0]):
            best[tid] = (rank, name)
    return {tid: storage.url(name) for tid, (_rank, name) in best.items()}
