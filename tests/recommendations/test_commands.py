"""recs_train and recs_evaluate end to end on a small Interaction table."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from recommendations.models import ModelVersion


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_recs_train_trains_in_the_foreground_with_progress_and_goes_live(planted):
    out, err = run("recs_train", "--algorithm", "ease", "--params", '{"lambda_": 50}')
    version = ModelVersion.objects.get()
    assert version.status == "live"
    assert version.params == {"lambda_": 50.0, "max_items": 4000}
    lines = out.splitlines()
    assert lines[0].startswith(
        f'version #{version.pk} ease {{"lambda_": 50.0, "max_items": 4000}}: NDCG@10='
    )
    assert lines[1].startswith("status: live. Promoted: NDCG@10 ")
    assert "training: 100%" in err
    assert "9/9" in err


def test_recs_train_background_queues_a_version(planted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        out, _ = run("recs_train", "--background", "--algorithm", "itemknn")
    version = ModelVersion.objects.get()
    assert out == f"queued version #{version.pk}\n"
    assert version.status == "queued"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--params", "{bad"], "--params is not valid JSON: "),
        (["--params", "[1]"], "--params must be a JSON object"),
        (["--holdout", "0"], "--holdout must be 1 or more"),
        (["--algorithm", "magic"], "Unknown algorithm 'magic'; choose one of als, ease"),
    ],
)
def test_recs_train_rejects_bad_input_with_a_message(db, args, message):
    with pytest.raises(CommandError, match=message.replace("[", r"\[")):
        run("recs_train", *args)
    assert ModelVersion.objects.count() == 0


def test_recs_train_on_an_empty_table_reports_the_failure(db):
    with pytest.raises(CommandError, match=r"training failed \(version #\d+\): ValidationFailed"):
        run("recs_train")
    assert ModelVersion.objects.get().status == "failed"


def test_recs_evaluate_prints_every_algorithm_side_by_side(planted):
    out, err = run("recs_evaluate", "--defaults", "--holdout", "2")
    lines = out.splitlines()
    assert lines[0] == "40 profiles x 30 titles, 449 interactions; holdout: newest 2 per profile"
    assert lines[1] == (
        "| algorithm | NDCG@10 | Recall@10 | MAP@10 | coverage | train s | params |"
    )
    assert [line.split(" | ")[0] for line in lines[3:]] == [
        "| popularity (defaults)",
        "| itemknn (defaults)",
        "| als (defaults)",
        "| als (defaults)",
        "| ease (defaults)",
        "| twostage (defaults)",
    ]
    assert "evaluating: 100%" in err


def test_recs_evaluate_mixes_defaults_and_validated_models_on_one_split(planted):
    out, _ = run("recs_evaluate", "--algorithms", "als:defaults,ease", "--json")
    payload = json.loads(out)
    assert [r["algorithm"] for r in payload["results"]] == ["als (defaults)", "ease"]
    assert [r["validated"] for r in payload["results"]] == [False, True]
    assert payload["results"][0]["params"]["factors"] == 100
    with pytest.raises(CommandError, match="unknown algorithm\\(s\\) ease:tuned"):
        run("recs_evaluate", "--algorithms", "ease:tuned")


def test_recs_evaluate_json_with_validated_parameters(planted):
    out, _ = run("recs_evaluate", "--algorithms", "popularity,ease", "--json")
    payload = json.loads(out)
    assert (payload["profiles"], payload["titles"], payload["holdout"]) == (40, 30, 3)
    assert payload["interactions"] == 449
    assert [r["algorithm"] for r in payload["results"]] == ["popularity", "ease"]
    assert [r["validated"] for r in payload["results"]] == [True, True]
    assert payload["results"][0]["metrics"]["users"] == 40
    assert ModelVersion.objects.count() == 0


def test_recs_evaluate_rejects_unknown_algorithms_and_empty_tables(db):
    with pytest.raises(CommandError, match="unknown algorithm\\(s\\) bpr; choose from als"):
        run("recs_evaluate", "--algorithms", "ease,bpr")
    with pytest.raises(CommandError, match="No interactions yet: nothing to evaluate."):
        run("recs_evaluate")
