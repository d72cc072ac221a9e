"""Reads for recommendations: the training matrix, the live model, a profile's picks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import scipy.sparse as sp
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.utils.module_loading import import_string

from accounts.models import Profile
from catalog.models import Credit, Title
from recommendations import algorithms
from recommendations.algorithms import InteractionData, Recommender, top_k
from recommendations.models import Interaction, ModelVersion
from recommendations.weights import Signals


@dataclass
class TrainingData:
    """The interaction matrix plus the ids behind its rows (profiles) and columns (titles)."""

    data: InteractionData
    profile_ids: np.ndarray
    title_ids: np.ndarray
    countries: np.ndarray  # one ISO code per group index
    data_from: datetime | None = None
    data_to: datetime | None = None


def _epoch_sql(column: str) -> str:
    """SQL for a datetime column as unix seconds (float), so no datetime objects are built."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})::float8"
    # SQLite stores ISO text; julianday keeps the microseconds
    return f"(julianday({column}) - 2440587.5) * 86400.0"


def title_content(title_ids: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Content of these titles, in this order: genres (titles x genre ids, 0/1) and release time.

    Release time is 1 January of the title's year when known (MovieLens gives only the year),
    else when it opened on Streamsite (`released_at`); unix seconds. Two queries.
    """
    index = {int(t): i for i, t in enumerate(title_ids.tolist())}
    released = np.full(len(index), np.nan, dtype=np.float64)
    for pk, year, opened in Title.objects.filter(pk__in=list(index)).values_list(
        "pk", "year", "released_at"
    ):
        if year:
            released[index[pk]] = datetime(int(year), 1, 1, tzinfo=UTC).timestamp()
        elif opened is not None:
            released[index[pk]] = opened.timestamp()
    through = Title.genres.through
    pairs = np.array(
        list(through.objects.filter(title_id__in=list(index)).values_list("title_id", "genre_id")),
        dtype=np.int64,
    ).reshape(-1, 2)
    n_genres = int(pairs[:, 1].max()) + 1 if pairs.size else 1
    rows = np.array([index[int(t)] for t in pairs[:, 0]], dtype=np.int64)
    genres = sp.csr_matrix(
        (np.ones(rows.size, dtype=np.float32), (rows, pairs[:, 1])), shape=(len(index), n_genres)
    )
    genres.data[:] = 1.0
    return genres, released


def training_data() -> TrainingData:
    """Every positive Interaction as a profiles x titles matrix, grouped by account country.

    Two bulk reads straight into numpy (no model instances, no datetime objects): profiling
    `recs_train` on MovieLens-100K found row-by-row conversion among its largest costs.
    """
    table = Interaction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT profile_id, title_id, weight, {_epoch_sql('last_at')} FROM {table} "  # noqa: S608
            "WHERE weight > 0 ORDER BY profile_id, title_id"
        )
        rows = cursor.fetchall()
    if not rows:
        return TrainingData(
            data=InteractionData.from_triples(
                np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), shape=(0, 0)
            ),
            profile_ids=np.zeros(0, dtype=np.int64),
            title_ids=np.zeros(0, dtype=np.int64),
            countries=np.array([], dtype="<U2"),
        )
    arr = np.array(rows, dtype=np.float64)
    profile_ids, users = np.unique(arr[:, 0].astype(np.int64), return_inverse=True)
    title_ids, items = np.unique(arr[:, 1].astype(np.int64), return_inverse=True)
    stamps = arr[:, 3]
    country_of = dict(
        Profile.objects.filter(pk__in=profile_ids.tolist()).values_list("pk", "account__country")
    )
    per_profile = [country_of.get(int(p)) or settings.DEFAULT_COUNTRY for p in profile_ids]
    countries = np.array(sorted(set(per_profile)), dtype="<U2")
    code = {c: i for i, c in enumerate(countries.tolist())}
    groups = np.array([code[c] for c in per_profile], dtype=np.int64)
    item_genres, item_released = title_content(title_ids)
    my_list, unfinished = _side_signals(profile_ids, title_ids)
    data = InteractionData.from_triples(
        users,
        items,
        arr[:, 2].astype(np.float32),
        stamps,
        shape=(profile_ids.size, title_ids.size),
        groups=groups,
        item_genres=item_genres,
        item_released=item_released,
        my_list=my_list,
        unfinished=unfinished,
    )
    return TrainingData(
        data=data,
        profile_ids=profile_ids,
        title_ids=title_ids,
        countries=countries,
        data_from=datetime.fromtimestamp(float(stamps.min()), tz=UTC),
        data_to=datetime.fromtimestamp(float(stamps.max()), tz=UTC),
    )


def _side_signals(
    profile_ids: np.ndarray, title_ids: np.ndarray
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """My List titles and started-but-unfinished titles (profiles x titles, value: the row's
    `last_at`, unix s), whatever their weight; one query. `last_at` is the newest signal on
    the title, so a feature computed as of an earlier time never sees a later addition."""
    table = Interaction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT profile_id, title_id, in_my_list, "  # noqa: S608
            "CASE WHEN plays > 0 AND completions = 0 THEN 1 ELSE 0 END, "
            f"{_epoch_sql('last_at')} FROM {table} "
            "WHERE in_my_list OR (plays > 0 AND completions = 0)"
        )
        rows = np.array(cursor.fetchall(), dtype=np.float64).reshape(-1, 5)
    shape = (profile_ids.size, title_ids.size)
    p = np.searchsorted(profile_ids, rows[:, 0].astype(np.int64))
    t = np.searchsorted(title_ids, rows[:, 1].astype(np.int64))
    known = (p < profile_ids.size) & (t < title_ids.size)
    known[known] &= (profile_ids[p[known]] == rows[known, 0]) & (
        title_ids[t[known]] == rows[known, 1]
    )

    def matrix(mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((rows[mask, 4], (p[mask], t[mask])), shape=shape)

    return matrix(known & (rows[:, 2] > 0)), matrix(known & (rows[:, 3] > 0))


def interaction_signals() -> tuple[Signals, np.ndarray, np.ndarray]:
    """Every Interaction row's signals (whatever its weight) for weight validation, with the
    profile and title ids behind the rows and columns. One query, straight into numpy."""
    table = Interaction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT profile_id, title_id, plays, completions, thumb, "  # noqa: S608
            f"CASE WHEN in_my_list THEN 1 ELSE 0 END, {_epoch_sql('last_at')} FROM {table}"
        )
        arr = np.array(cursor.fetchall(), dtype=np.float64).reshape(-1, 7)
    profile_ids, users = np.unique(arr[:, 0].astype(np.int64), return_inverse=True)
    title_ids, items = np.unique(arr[:, 1].astype(np.int64), return_inverse=True)
    signals = Signals(
        users=users.astype(np.int64),
        items=items.astype(np.int64),
        plays=arr[:, 2].astype(np.int64),
        completions=arr[:, 3].astype(np.int64),
        thumb=arr[:, 4].astype(np.int64),
        in_my_list=arr[:, 5] > 0,
        at=arr[:, 6],
        shape=(profile_ids.size, title_ids.size),
    )
    return signals, profile_ids, title_ids


# --- candidate filtering: a pluggable hook ------------------------------------------------------
def allowed_items_provider() -> Callable[[Profile], set[int] | None] | None:
    path = getattr(settings, "RECS_ALLOWED_ITEMS_PROVIDER", None)
    return import_string(path) if path else None


def published_title_ids() -> set[int]:
    return set(Title.objects.filter(is_published=True).values_list("id", flat=True))


def allowed_title_ids(profile: Profile) -> set[int]:
    """Titles this profile may be recommended: the provider's answer, else all published."""
    provider = allowed_items_provider()
    if provider is not None:
        answer = provider(profile)
        if answer is not None:
            return set(answer)
    return published_title_ids()


def allowed_matrix(td: TrainingData) -> np.ndarray | sp.csr_matrix:
    """Allowed items for evaluation: one mask for all, or one row per profile with a provider.

    A provider with a `cache_key(profile)` attribute is asked once per distinct key (the
    catalogue's rule depends only on country and maturity): asking it once per profile was the
    largest cost of `recs_train` on MovieLens-100K (943 catalogue queries).
    """
    published = published_title_ids()
    base = np.isin(td.title_ids, np.fromiter(published, dtype=np.int64, count=len(published)))
    provider = allowed_items_provider()
    if provider is None:
        return base
    key_of = getattr(provider, "cache_key", None)
    profiles = Profile.objects.select_related("account").in_bulk([int(p) for p in td.profile_ids])
    answers: dict[object, np.ndarray] = {}
    rows = []
    for pid in td.profile_ids:
        profile = profiles[int(pid)]
        key = key_of(profile) if key_of is not None else int(pid)
        row = answers.get(key)
        if row is None:
            answer = provider(profile)
            row = base if answer is None else np.isin(td.title_ids, list(answer))
            answers[key] = row
        rows.append(row)
    if len(answers) == 1:
        # every profile has the same answer (one country and maturity on MovieLens): one mask
        return next(iter(answers.values()))
    return sp.csr_matrix(np.vstack(rows)) if rows else base


# --- the live model, loaded once per process per artifact ----------------------------------------
@dataclass
class LoadedModel:
    version_id: int
    model: Recommender
    title_ids: np.ndarray
    countries: np.ndarray
    index_of: dict[int, int] = field(default_factory=dict)


_loaded: dict[str, LoadedModel] = {}
_lock = threading.Lock()


def load_version(version: ModelVersion) -> LoadedModel:
    key = version.artifact_key
    with _lock:
        cached = _loaded.get(key)
    if cached is not None:
        return cached
    with default_storage.open(key, "rb") as fh:
        model, extra = algorithms.loads(fh.read())
    title_ids = extra["title_ids"].astype(np.int64)
    loaded = LoadedModel(
        version_id=version.pk,
        model=model,
        title_ids=title_ids,
        countries=extra.get("countries", np.array([], dtype="<U2")),
        index_of={int(t): i for i, t in enumerate(title_ids)},
    )
    with _lock:
        _loaded.clear()  # keep one model (the live one) in memory per process
        _loaded[key] = loaded
    return loaded


def live_model() -> LoadedModel | None:
    version = ModelVersion.objects.live().first()
    if version is None or not version.artifact_key:
        return None
    return load_version(version)


# --- a profile's recommendations, from its current history (fold-in) ---------------------------
@dataclass
class Pick:
    title_id: int
    score: float
    because_title_ids: list[int] = field(default_factory=list)


def _history(loaded: LoadedModel, profile: Profile) -> tuple[sp.csr_matrix, list[int]]:
    """The profile's current history over the model's titles; its title ids newest first."""
    rows = list(
        Interaction.objects.for_profile(profile.pk)
        .for_training()
        .order_by("-last_at", "-id")
        .values_list("title_id", "weight")
    )
    cols, vals, newest_first = [], [], []
    for title_id, weight in rows:
        newest_first.append(title_id)
        idx = loaded.index_of.get(title_id)
        if idx is not None:
            cols.append(idx)
            vals.append(weight)
    n = loaded.title_ids.size
    hist = sp.csr_matrix(
        (np.array(vals, dtype=np.float32), (np.zeros(len(cols), dtype=np.int64), cols)),
        shape=(1, n),
    )
    return hist, newest_first


def _mask(loaded: LoadedModel, profile: Profile, seen: list[int]) -> tuple[np.ndarray, np.ndarray]:
    allowed_ids = allowed_title_ids(profile)
    allowed = np.isin(loaded.title_ids, np.array(sorted(allowed_ids), dtype=np.int64))
    exclude = np.isin(loaded.title_ids, np.array(seen, dtype=np.int64))
    return allowed, exclude


def _group(loaded: LoadedModel, profile: Profile) -> int | None:
    country = profile.account.country or settings.DEFAULT_COUNTRY
    hits = np.flatnonzero(loaded.countries == country)
    return int(hits[0]) if hits.size else None


def recommend_for_profile(*, profile: Profile, k: int = 10) -> list[Pick]:
    """Top-k titles for the profile from the live model, with the titles that explain each.

    The history is read now, so a title finished a minute ago already counts (fold-in: no
    retrain). Seen titles are never returned; only allowed titles are.
    """
    loaded = live_model()
    if loaded is None:
        return []
    hist, seen = _history(loaded, profile)
    allowed, exclude = _mask(loaded, profile, seen)
    recs = loaded.model.recommend(
        hist, k=k, exclude=exclude, allowed=allowed, group=_group(loaded, profile), explain=True
    )
    return [
        Pick(
            title_id=int(loaded.title_ids[r.item]),
            score=r.score,
            because_title_ids=[int(loaded.title_ids[j]) for j in r.because],
        )
        for r in recs
    ]


@dataclass
class BecauseYouWatched:
    source_title_id: int
    title_ids: list[int]


def because_you_watched(*, profile: Profile, k: int = 10) -> BecauseYouWatched | None:
    """Titles most like the profile's most recently watched one (that the model knows)."""
    loaded = live_model()
    if loaded is None:
        return None
    _hist, seen = _history(loaded, profile)
    source = next((t for t in seen if t in loaded.index_of), None)
    if source is None:
        return None
    sims = loaded.model.similar_items(loaded.index_of[source])
    if not np.any(sims > 0):
        return None
    allowed, exclude = _mask(loaded, profile, seen)
    exclude = exclude | (sims <= 0)
    top = top_k(sims, k=k, exclude=exclude, allowed=allowed)
    return BecauseYouWatched(
        source_title_id=int(source), title_ids=[int(loaded.title_ids[i]) for i in top]
    )


def _content_tokens(title_ids: set[int]) -> dict[int, set[str]]:
    """Each title's content as tokens: genres, people, maturity level, decade. Three queries."""
    tokens: dict[int, set[str]] = {t: set() for t in title_ids}
    for pk, year, maturity in Title.objects.filter(pk__in=title_ids).values_list(
        "pk", "year", "maturity_level"
    ):
        tokens[pk].add(f"m{maturity}")
        if year:
            tokens[pk].add(f"d{int(year) // 10}")
    for tid, gid in Title.genres.through.objects.filter(title_id__in=title_ids).values_list(
        "title_id", "genre_id"
    ):
        tokens[tid].add(f"g{gid}")
    for tid, pid in Credit.objects.filter(title_id__in=title_ids).values_list(
        "title_id", "person_id"
    ):
        tokens[tid].add(f"p{pid}")
    return tokens


def content_affinity(*, history_title_ids: list[int], title_ids: list[int]) -> dict[int, float]:
    """Cosine between each title's content and the history's (genres, people, maturity, decade).

    Scores titles no trained model knows yet (released since the last training), so a new
    title can reach a matching profile's rows the day it opens, without a retrain. 0 to 1.
    """
    if not history_title_ids or not title_ids:
        return {}
    tokens = _content_tokens(set(history_title_ids) | set(title_ids))
    profile: dict[str, float] = {}
    for t in history_title_ids:
        for tok in tokens.get(t, ()):
            profile[tok] = profile.get(tok, 0.0) + 1.0
    norm = float(np.sqrt(sum(v * v for v in profile.values())))
    out: dict[int, float] = {}
    for t in title_ids:
        own = tokens.get(t, set())
        dot = sum(profile.get(tok, 0.0) for tok in own)
        out[t] = dot / (norm * np.sqrt(len(own))) if own and norm > 0 else 0.0
    return out


def metrics_series(versions: list[ModelVersion]) -> list[tuple[int, float, float]]:
    """(version id, NDCG@10, Recall@10) of versions with test metrics, oldest first."""
    out = []
    for v in sorted(versions, key=lambda v: (v.created_at, v.pk)):
        ndcg, recall = v.metric("ndcg@10"), v.metric("recall@10")
        if ndcg is not None and recall is not None:
            out.append((v.pk, ndcg, recall))
    return out


def profile_needs_onboarding(profile: Profile) -> bool:
    """A profile with nothing to go on yet: no thumbs, no My List, nothing watched (the
    onboarding page's picks become thumbs up, so a profile that did it is never asked again)."""
    from playback.models import MyListEntry, Progress, ThumbRating, ViewingEvent

    return not any(
        model.objects.filter(profile=profile).exists()
        for model in (ThumbRating, MyListEntry, Progress, ViewingEvent)
    )
