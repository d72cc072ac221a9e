"""Training, the promotion gate, promote/rollback, tasks and interaction upserts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.core.files.storage import default_storage

from recommendations import algorithms, services
from recommendations.models import Interaction, ModelVersion
from recommendations.services import InteractionRow, interactions_upsert
from recommendations.tasks import train_model, train_nightly
from streamsite.errors import Conflict, ValidationFailed
from tests.recommendations.factories import ProfileFactory, TitleFactory

LIVE, CANDIDATE, RETIRED = "live", "candidate", "retired"


def statuses() -> dict[int, str]:
    return dict(ModelVersion.objects.values_list("pk", "status"))


def test_first_model_is_trained_evaluated_stored_and_promoted_over_popularity(planted):
    version = services.train(algorithm="ease")
    assert version.status == LIVE
    assert version.n_profiles == 40
    assert version.n_titles == 30
    assert version.n_interactions == Interaction.objects.count()
    assert version.metrics["validated"] is True
    # the ordered lambda search climbs from EASE's default (evaluation._ordered_walk), each
    # way until two trials in a row fall below the best
    trials = version.metrics["search"]
    space = algorithms.EASE.search_space
    assert trials[0]["params"] == {"lambda_": 250.0}
    assert all(t["params"] in space for t in trials)
    ndcgs = [t["ndcg@10"] for t in trials]
    best = ndcgs.index(max(ndcgs))
    assert version.params["lambda_"] == trials[best]["params"]["lambda_"]
    assert set(version.metrics["test"]) == {"ndcg@10", "recall@10", "map@10", "coverage", "users"}
    assert version.metrics["test"]["ndcg@10"] > version.metrics["popularity"]["ndcg@10"]
    assert version.decision.startswith("Promoted: NDCG@10 ")
    assert "the popularity baseline" in version.decision
    assert version.artifact_key == f"recommendations/models/v{version.pk:06d}-ease.npz"
    with default_storage.open(version.artifact_key, "rb") as fh:
        model, extra = algorithms.loads(fh.read())
    assert model.params == version.params
    assert sorted(extra["title_ids"].tolist()) == sorted(t.pk for t in planted[1])
    assert sorted(extra["countries"].tolist()) == ["FR", "US"]


def test_a_worse_model_is_not_promoted_and_stays_candidate_with_its_numbers(planted):
    live = services.train(algorithm="ease")
    worse = services.train(algorithm="popularity", params={"half_life_days": 30.0})
    assert worse.status == CANDIDATE
    assert worse.decision.startswith("Kept as candidate: NDCG@10 ")
    assert f"live version #{live.pk}" in worse.decision
    assert worse.metrics["live"]["version"] == live.pk
    assert worse.artifact_key != ""
    assert statuses() == {live.pk: LIVE, worse.pk: CANDIDATE}


def test_an_equal_model_does_not_clear_the_margin(planted, settings):
    settings.RECS_PROMOTION_MARGIN = 0.01
    live = services.train(algorithm="ease", params={"lambda_": 100.0})
    same = services.train(algorithm="ease", params={"lambda_": 100.0})
    # same recipe, same split: identical NDCG, which is not 1% better; and no newer data
    assert same.metrics["test"]["ndcg@10"] == same.metrics["live"]["ndcg@10"]
    assert same.status == CANDIDATE
    assert "no newer data" in same.decision
    assert statuses() == {live.pk: LIVE, same.pk: CANDIDATE}


def test_the_live_recipe_refitted_on_newer_data_replaces_the_live_model(planted, settings):
    """A retrain with the live recipe ties the live model on the split by construction; what
    it brings is newer viewing, so it is promoted on that, not kept out by the margin."""
    settings.RECS_PROMOTION_MARGIN = 0.01
    profiles, titles, _ = planted
    live = services.train(algorithm="ease", params={"lambda_": 100.0})
    later = live.data_to + timedelta(hours=1)
    interactions_upsert(
        rows=[InteractionRow(profiles[0].pk, titles[-1].pk, weight=3.0, last_at=later, plays=1)]
    )
    fresh = services.train(algorithm="ease", params={"lambda_": 100.0})
    assert fresh.metrics["live"]["same_recipe"] is True
    assert abs(fresh.data_to - later) < timedelta(milliseconds=1)  # read back as a float stamp
    assert fresh.status == LIVE
    assert fresh.decision.startswith(f"Promoted: live version #{live.pk}'s recipe refitted")
    assert statuses() == {live.pk: RETIRED, fresh.pk: LIVE}
    # and with nothing newer again, the next one has nothing to bring
    again = services.train(algorithm="ease", params={"lambda_": 100.0})
    assert again.status == CANDIDATE
    assert "no newer data" in again.decision
    assert statuses() == {live.pk: RETIRED, fresh.pk: LIVE, again.pk: CANDIDATE}


def test_promote_then_rollback_then_nothing_further_to_roll_back_to(planted):
    first = services.train(algorithm="ease")
    second = services.train(algorithm="popularity", params={})
    assert services.promote(version=second).status == LIVE
    assert statuses() == {first.pk: RETIRED, second.pk: LIVE}
    back = services.rollback()
    assert back.pk == first.pk
    assert statuses() == {first.pk: LIVE, second.pk: RETIRED}
    assert ModelVersion.objects.get(pk=second.pk).rolled_back_at is not None
    with pytest.raises(Conflict, match="No earlier live model to roll back to."):
        services.rollback()
    assert statuses() == {first.pk: LIVE, second.pk: RETIRED}


def test_rollback_without_a_live_model_is_a_conflict(db):
    with pytest.raises(Conflict, match="No live model to roll back."):
        services.rollback()


def test_a_failed_version_cannot_be_promoted(db):
    failed = ModelVersion.objects.create(algorithm="ease", status=ModelVersion.Status.FAILED)
    with pytest.raises(Conflict, match="A failed model cannot be promoted."):
        services.promote(version=failed)
    assert statuses() == {failed.pk: "failed"}


def test_training_without_interactions_fails_with_a_message(db):
    version = services.train(algorithm="ease")
    assert version.status == "failed"
    assert version.error == (
        "ValidationFailed: No viewing activity to learn from: import some first "
        "(manage.py import_movielens PATH) or let viewers watch."
    )
    assert version.artifact_key == ""


def test_unknown_algorithm_and_bad_params_are_refused_before_anything_is_written(db):
    with pytest.raises(ValidationFailed, match="Unknown algorithm 'magic'; choose one of als"):
        services.train(algorithm="magic")
    with pytest.raises(ValidationFailed, match="Bad parameters for ease: "):
        services.training_request(algorithm="ease", params={"depth": 3})
    assert ModelVersion.objects.count() == 0


def test_training_request_runs_in_the_background_after_commit(
    planted, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        version = services.training_request(algorithm="itemknn")
        assert ModelVersion.objects.get(pk=version.pk).status == "queued"
    # the training, then (it went live) the precomputation of every profile's home rows
    assert len(callbacks) == 2
    version.refresh_from_db()
    assert version.status == LIVE
    assert version.algorithm == "itemknn"


def test_a_redelivered_training_message_does_nothing(planted):
    version = ModelVersion.objects.create(algorithm="popularity", params={"half_life_days": 7.0})
    assert train_model(version.pk) == LIVE
    assert train_model(version.pk) is None
    assert train_model(999_999) is None
    assert statuses() == {version.pk: LIVE}


def test_nightly_task_queues_one_training_of_the_configured_algorithm(
    planted, settings, django_capture_on_commit_callbacks
):
    settings.RECS_ALGORITHM = "itemknn"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        pk = train_nightly()
    assert len(callbacks) == 1
    version = ModelVersion.objects.get(pk=pk)
    assert (version.algorithm, version.status) == ("itemknn", "queued")


def test_nightly_beat_entry_is_declared(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["recommendations.train-nightly"]
    assert entry["task"] == "recommendations.tasks.train_nightly"


def test_interactions_upsert_writes_current_values_once_per_profile_and_title(db):
    profile, title = ProfileFactory(), TitleFactory()
    at1 = datetime(2026, 1, 1, tzinfo=UTC)
    at2 = datetime(2026, 1, 2, tzinfo=UTC)
    row = InteractionRow(profile_id=profile.pk, title_id=title.pk, weight=1.0, last_at=at1)
    assert interactions_upsert(rows=[row]) == 1
    again = InteractionRow(
        profile_id=profile.pk, title_id=title.pk, weight=3.5, last_at=at2, plays=2, completions=1
    )
    assert interactions_upsert(rows=[again]) == 1
    got = Interaction.objects.get()
    assert (got.weight, got.plays, got.completions, got.first_at, got.last_at) == (
        3.5,
        2,
        1,
        at1,
        at2,
    )


@pytest.mark.parametrize("weight", [-1.0, float("nan"), float("inf")])
def test_interactions_upsert_refuses_negative_and_non_finite_weights(db, weight):
    profile, title = ProfileFactory(), TitleFactory()
    good = InteractionRow(
        profile_id=profile.pk, title_id=TitleFactory().pk, weight=1.0, last_at=datetime.now(tz=UTC)
    )
    bad = InteractionRow(
        profile_id=profile.pk, title_id=title.pk, weight=weight, last_at=datetime.now(tz=UTC)
    )
    with pytest.raises(ValidationFailed, match=f"not negative, got {weight}"):
        interactions_upsert(rows=[good, bad])
    assert Interaction.objects.count() == 0  # the batch is refused before anything is written


def test_training_matrix_groups_profiles_by_account_country(planted):
    from recommendations.selectors import training_data

    td = training_data()
    profiles, titles, synth = planted
    assert td.data.shape == (40, 30)
    assert td.countries.tolist() == ["FR", "US"]
    expected = np.array([0 if p.account.country == "FR" else 1 for p in profiles])
    assert td.data.groups.tolist() == expected.tolist()
    assert td.data.nnz == synth.data.nnz


def test_sweep_fails_dead_trainings_and_requeues_lost_messages(
    db, settings, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    settings.CELERY_TASK_TIME_LIMIT = 3900
    now = timezone.now()
    dead = ModelVersion.objects.create(
        algorithm="ease", status="training", started_at=now - timedelta(seconds=3961)
    )
    running = ModelVersion.objects.create(
        algorithm="ease", status="training", started_at=now - timedelta(seconds=3959)
    )
    lost = ModelVersion.objects.create(
        algorithm="ease", status="queued", created_at=now - timedelta(minutes=61)
    )
    fresh = ModelVersion.objects.create(
        algorithm="ease", status="queued", created_at=now - timedelta(minutes=59)
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.training_sweep(now=now) == (1, 1)
    assert len(callbacks) == 1
    assert statuses() == {
        dead.pk: "failed",
        running.pk: "training",
        lost.pk: "queued",
        fresh.pk: "queued",
    }
    dead.refresh_from_db()
    assert dead.error == "The training stopped without finishing (worker lost); swept."


def test_a_two_stage_model_that_does_not_beat_its_own_ease_stage_hands_the_gate_that_stage(
    planted, monkeypatch
):
    import lightgbm

    # a ranker that learned nothing: candidates keep EASE's order, so the two-stage model
    # scores exactly what its EASE stage scores and cannot clear the margin over it
    monkeypatch.setattr(lightgbm, "train", lambda *args, **kwargs: None)
    result = services.train(
        algorithm="twostage",
        params={"lambda_": 10.0, "factors": 8, "per_source": 10, "trees": 5},
    )

    two_stage = ModelVersion.objects.get(algorithm="twostage")
    assert two_stage.status == CANDIDATE
    stage = two_stage.metrics["stage"]
    assert stage["algorithm"] == "ease"
    assert stage["params"] == {"lambda_": 10.0, "max_items": 4000}
    assert stage["beats_stage"] is False
    assert stage["ndcg@10"] == two_stage.metrics["test"]["ndcg@10"]
    assert two_stage.decision.startswith(
        f"Kept as candidate: NDCG@10 {stage['ndcg@10']:.4f} does not beat its own ease stage"
    )
    # train() returns what the gate made of the run: the EASE stage, as a version of its own
    ease = ModelVersion.objects.exclude(pk=two_stage.pk).get()
    assert result.pk == ease.pk
    assert ease.algorithm == "ease"
    assert ease.params == {"lambda_": 10.0, "max_items": 4000}
    assert ease.metrics["stage_of"] == two_stage.pk
    assert ease.metrics["test"] == {
        k: v for k, v in stage.items() if k not in ("algorithm", "params", "beats_stage")
    }
    assert ease.status == LIVE
    assert "the popularity baseline" in ease.decision
    with default_storage.open(ease.artifact_key, "rb") as fh:
        model, extra = algorithms.loads(fh.read())
    assert model.name == "ease"
    assert sorted(extra["title_ids"].tolist()) == sorted(t.pk for t in planted[1])


# --- reusing the live model's searched hyper-parameters (RECS_FULL_SEARCH_DAYS) ---------------
def test_a_first_training_searches_and_records_when(planted, settings):
    settings.RECS_FULL_SEARCH_DAYS = 7
    version = services.train(algorithm="ease")
    assert version.metrics["search"] != []
    assert version.metrics["params_reused_from"] is None
    searched = datetime.fromisoformat(version.metrics["params_searched_at"])
    assert version.started_at <= searched <= version.finished_at


def test_a_retrain_of_the_live_algorithm_reuses_its_parameters_without_searching(planted, settings):
    settings.RECS_FULL_SEARCH_DAYS = 7
    live = services.train(algorithm="ease")
    assert live.status == LIVE
    again = services.train(algorithm="ease")
    assert again.metrics["search"] == []
    assert again.metrics["params_reused_from"] == live.pk
    assert again.params == live.params
    # the search it relied on, not a search of its own: the schedule does not slide
    assert again.metrics["params_searched_at"] == live.metrics["params_searched_at"]
    assert again.metrics["validated"] is True


def test_the_full_search_runs_again_once_the_last_one_is_older_than_the_setting(planted, settings):
    settings.RECS_FULL_SEARCH_DAYS = 7
    live = services.train(algorithm="ease")
    searched = datetime.fromisoformat(live.metrics["params_searched_at"])
    # the search was 7 days ago to the second: due
    old = (searched - timedelta(days=7)).isoformat()
    ModelVersion.objects.filter(pk=live.pk).update(
        metrics={**live.metrics, "params_searched_at": old}
    )
    assert services.reusable_params("ease", now=searched) is None
    # a second earlier, it was not yet due
    live.refresh_from_db()
    reuse = services.reusable_params("ease", now=searched - timedelta(seconds=1))
    assert reuse is not None and reuse[0].pk == live.pk
    again = services.train(algorithm="ease")
    assert again.metrics["search"] != []
    assert again.metrics["params_reused_from"] is None
    assert datetime.fromisoformat(again.metrics["params_searched_at"]) > searched
    # and that newer search restarts the clock for the next retrain, whatever the gate decided
    third = services.train(algorithm="ease")
    assert third.metrics["search"] == []
    assert third.metrics["params_searched_at"] == again.metrics["params_searched_at"]


def test_no_reuse_without_a_live_model_of_the_same_algorithm_or_with_the_setting_at_zero(
    planted, settings
):
    settings.RECS_FULL_SEARCH_DAYS = 7
    assert services.reusable_params("ease") is None  # nothing live
    live = services.train(algorithm="ease")
    assert services.reusable_params("itemknn") is None  # another algorithm is live
    knn = services.train(algorithm="itemknn")
    assert knn.metrics["search"] != []
    assert knn.metrics["params_reused_from"] is None
    assert statuses()[live.pk] == LIVE
    settings.RECS_FULL_SEARCH_DAYS = 0
    assert services.reusable_params("ease") is None
    again = services.train(algorithm="ease")
    assert again.metrics["search"] != []
    assert again.metrics["params_reused_from"] is None


def test_explicit_parameters_neither_search_nor_count_as_a_search(planted, settings):
    settings.RECS_FULL_SEARCH_DAYS = 7
    live = services.train(algorithm="ease", params={"lambda_": 100.0})
    assert live.status == LIVE
    assert live.metrics["params_searched_at"] is None
    # the live ease was never searched: the next default training searches
    assert services.reusable_params("ease") is None
    searched = services.train(algorithm="ease")
    assert searched.metrics["search"] != []


def test_interactions_upsert_writes_the_rows_the_orm_upsert_wrote_for_a_mixed_batch(db):
    """The executemany upsert against Django's `bulk_create(update_conflicts=True)` (what it
    replaced): the same table after one mixed batch of inserts and updates, replayed twice."""
    from zoneinfo import ZoneInfo

    profiles = [ProfileFactory() for _ in range(3)]
    titles = [TitleFactory() for _ in range(4)]
    paris = ZoneInfo("Europe/Paris")
    old = datetime(2025, 6, 1, 8, 30, tzinfo=UTC)
    existing = [(p.pk, t.pk) for p in profiles[:2] for t in titles[:2]]
    batch = [
        InteractionRow(
            profile_id=p.pk,
            title_id=t.pk,
            weight=0.0 if (i + j) % 5 == 0 else 1.25 * (i + 1) + j,
            # some times not in UTC: both paths must store the same instant
            last_at=datetime(2026, 3, 1 + i, 23, 15 + j, 7, 123456, tzinfo=paris if j % 2 else UTC),
            plays=i + j,
            completions=j % 2,
            thumb=(-1, 0, 1)[(i + j) % 3],
            in_my_list=bool((i * j) % 2),
        )
        for i, p in enumerate(profiles)
        for j, t in enumerate(titles)
    ]
    assert {(r.profile_id, r.title_id) for r in batch} > set(existing)  # inserts and updates

    def seed() -> None:
        Interaction.objects.all().delete()
        Interaction.objects.bulk_create(
            [
                Interaction(
                    profile_id=pid,
                    title_id=tid,
                    weight=9.0,
                    plays=7,
                    thumb=1,
                    first_at=old,
                    last_at=old,
                )
                for pid, tid in existing
            ]
        )

    def table() -> list[tuple]:
        return list(
            Interaction.objects.order_by("profile_id", "title_id").values_list(
                "profile_id",
                "title_id",
                "weight",
                "plays",
                "completions",
                "thumb",
                "in_my_list",
                "first_at",
                "last_at",
            )
        )

    def orm_upsert(rows: list[InteractionRow]) -> None:
        Interaction.objects.bulk_create(
            [
                Interaction(
                    profile_id=r.profile_id,
                    title_id=r.title_id,
                    weight=r.weight,
                    plays=r.plays,
                    completions=r.completions,
                    thumb=r.thumb,
                    in_my_list=r.in_my_list,
                    first_at=r.last_at,
                    last_at=r.last_at,
                )
                for r in rows
            ],
            update_conflicts=True,
            unique_fields=["profile", "title"],
            update_fields=["weight", "plays", "completions", "thumb", "in_my_list", "last_at"],
        )

    seed()
    orm_upsert(batch)
    expected = table()
    seed()
    assert interactions_upsert(rows=batch, batch_size=5) == len(batch)
    assert table() == expected
    assert interactions_upsert(rows=batch, batch_size=5) == len(batch)  # replay: no change
    assert table() == expected
    # the times are stored as the ORM stores them, so the database compares them as instants
    cut = datetime(2026, 3, 2, 22, 45, tzinfo=UTC)
    before_cut = {(r.profile_id, r.title_id) for r in batch if r.last_at < cut}
    assert 0 < len(before_cut) < len(batch)
    assert set(
        Interaction.objects.filter(last_at__lt=cut).values_list("profile_id", "title_id")
    ) == (before_cut)
    # the updated rows kept their first_at; the inserted ones start at their last_at
    by_key = {(r[0], r[1]): r for r in expected}
    assert all(by_key[key][7] == old for key in existing)
    assert all(by_key[(r.profile_id, r.title_id)][7] == r.last_at for r in batch[8:])


def test_allowed_titles_are_one_mask_when_every_profile_has_the_same_answer(catalogue):
    from accounts.models import User
    from catalog.models import Title
    from recommendations import selectors

    profiles, titles, _synth = catalogue
    hidden = titles[0]
    Title.objects.filter(pk=hidden.pk).update(is_published=False)
    td = selectors.training_data()
    column = int(np.flatnonzero(td.title_ids == hidden.pk)[0])
    # two countries (US, FR): one row per profile, each the answer for its country
    per_profile = selectors.allowed_matrix(td)
    assert per_profile.shape == (td.profile_ids.size, td.title_ids.size)
    assert not per_profile.toarray()[:, column].any()
    assert per_profile.toarray()[:, column + 1 :].all()
    # one country: the same answer for all, given once
    User.objects.update(country="US")
    one = selectors.allowed_matrix(td)
    assert one.shape == (td.title_ids.size,)
    assert not one[column] and one.sum() == td.title_ids.size - 1
