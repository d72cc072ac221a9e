"""Staff screens: the version list with its chart, promote, roll back, train now."""

from __future__ import annotations

import pytest
from django.urls import reverse

from recommendations.charts import metrics_chart_svg
from recommendations.models import ModelVersion

CHANGELIST = "admin:recommendations_modelversion_changelist"
ROLLBACK = "admin:recommendations_modelversion_rollback"
TRAIN = "admin:recommendations_modelversion_train"


def version(status: str, ndcg: float = 0.1, recall: float = 0.2, **kw) -> ModelVersion:
    return ModelVersion.objects.create(
        algorithm="ease",
        status=status,
        artifact_key=f"recommendations/models/fake-{status}.npz",
        metrics={"test": {"ndcg@10": ndcg, "recall@10": recall, "map@10": 0.05, "coverage": 0.5}},
        **kw,
    )


def statuses() -> dict[int, str]:
    return dict(ModelVersion.objects.values_list("pk", "status"))


def test_chart_draws_both_metrics_per_version_oldest_first():
    svg = metrics_chart_svg([(3, 0.1, 0.2), (7, 0.25, 0.3)])
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="640" height="220"')
    assert svg.count("<polyline") == 2
    assert svg.count("<circle") == 4
    assert "<title>#3 NDCG@10 0.1000</title>" in svg
    assert "<title>#7 Recall@10 0.3000</title>" in svg
    assert svg.index(">#3</text>") < svg.index(">#7</text>")


def test_chart_has_an_empty_state():
    assert "No evaluated model versions yet" in metrics_chart_svg([])


def test_changelist_shows_metrics_and_chart_to_staff(staff_client):
    v = version("live", ndcg=0.1234, recall=0.5)
    response = staff_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body
    assert f"<title>#{v.pk} NDCG@10 0.1234</title>" in body
    assert "0.1234" in body
    assert "Roll back the live model" in body


@pytest.mark.parametrize("who", ["anonymous", "alice"])
def test_non_staff_cannot_see_promote_roll_back_or_train(client, alice, who):
    old = version("retired", promoted_at="2026-01-01T00:00:00Z")
    live = version("live", promoted_at="2026-02-01T00:00:00Z")
    cand = version("candidate")
    if who == "alice":
        client.force_login(alice)
    before = statuses()
    assert client.get(reverse(CHANGELIST)).status_code == 302
    response = client.post(
        reverse(CHANGELIST), {"action": "promote_selected", "_selected_action": [cand.pk]}
    )
    assert response.status_code == 302
    assert client.post(reverse(ROLLBACK)).status_code == 302
    assert client.post(reverse(TRAIN), {"algorithm": "ease"}).status_code == 302
    assert statuses() == before == {old.pk: "retired", live.pk: "live", cand.pk: "candidate"}


def test_staff_promotes_a_candidate(staff_client):
    live = version("live")
    cand = version("candidate")
    response = staff_client.post(
        reverse(CHANGELIST), {"action": "promote_selected", "_selected_action": [cand.pk]}
    )
    assert response.status_code == 302
    assert statuses() == {live.pk: "retired", cand.pk: "live"}


def test_promoting_two_at_once_or_a_failed_one_is_refused_with_a_message(staff_client):
    live = version("live")
    failed = version("failed")
    cand = version("candidate")
    response = staff_client.post(
        reverse(CHANGELIST),
        {"action": "promote_selected", "_selected_action": [cand.pk, failed.pk]},
        follow=True,
    )
    assert "Select exactly one version to promote." in response.content.decode()
    response = staff_client.post(
        reverse(CHANGELIST),
        {"action": "promote_selected", "_selected_action": [failed.pk]},
        follow=True,
    )
    assert "A failed model cannot be promoted." in response.content.decode()
    assert statuses() == {live.pk: "live", failed.pk: "failed", cand.pk: "candidate"}


def test_staff_rolls_back_to_the_previous_live_version(staff_client):
    old = version("retired", promoted_at="2026-01-01T00:00:00Z")
    live = version("live", promoted_at="2026-02-01T00:00:00Z")
    response = staff_client.post(reverse(ROLLBACK), follow=True)
    assert f"Rolled back: version #{old.pk} is live." in response.content.decode()
    assert statuses() == {old.pk: "live", live.pk: "retired"}


def test_rollback_with_nothing_to_roll_back_to_says_so(staff_client):
    live = version("live", promoted_at="2026-02-01T00:00:00Z")
    response = staff_client.post(reverse(ROLLBACK), follow=True)
    assert "No earlier live model to roll back to." in response.content.decode()
    assert statuses() == {live.pk: "live"}


def test_rollback_and_train_need_post(staff_client):
    assert staff_client.get(reverse(ROLLBACK)).status_code == 405
    assert staff_client.get(reverse(TRAIN)).status_code == 405
    assert ModelVersion.objects.count() == 0


def test_staff_queues_a_training_from_the_admin(staff_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post(reverse(TRAIN), {"algorithm": "itemknn"}, follow=True)
    v = ModelVersion.objects.get()
    assert (v.algorithm, v.status) == ("itemknn", "queued")
    assert len(callbacks) == 1
    assert f"Training queued as version #{v.pk}." in response.content.decode()


def test_train_with_an_unknown_algorithm_is_refused(staff_client):
    response = staff_client.post(reverse(TRAIN), {"algorithm": "magic"}, follow=True)
    assert "Unknown algorithm &#x27;magic&#x27;" in response.content.decode()
    assert ModelVersion.objects.count() == 0


def test_changelist_query_count_does_not_grow_with_versions(
    staff_client, django_assert_num_queries
):
    version("live")
    staff_client.get(reverse(CHANGELIST))  # the session cached, its user remembered
    with django_assert_num_queries(5):
        assert staff_client.get(reverse(CHANGELIST)).status_code == 200
    for n in range(6):
        version("candidate", ndcg=0.01 * n)
    with django_assert_num_queries(5):
        assert staff_client.get(reverse(CHANGELIST)).status_code == 200
