"""recs_export: JSON lines per profile from the live model with the home page's filters."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.models import ExternalId
from playback.models import ThumbRating
from recommendations import rows


def export(*args):
    out, err = StringIO(), StringIO()
    call_command("recs_export", *args, stdout=out, stderr=err)
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_export_writes_one_line_per_profile_with_top_k_and_external_ids(live):
    profiles, titles, _ = live
    profile = profiles[0]
    profile.external_id = "crm:42"
    profile.save(update_fields=["external_id"])
    for t in titles:
        ExternalId.objects.create(title=t, source="movielens", value=str(1000 + t.pk))
    disliked = rows.top_picks(profile, k=1)[0]
    ThumbRating.objects.create(profile=profile, title_id=disliked, value=-1)

    lines, err = export("--k", "3")

    assert len(lines) == len(profiles)
    first = next(line for line in lines if line["profile_id"] == profile.pk)
    expected = rows.top_picks(profile, k=3)
    assert disliked not in expected
    assert first == {
        "profile_id": profile.pk,
        "profile_external_id": "crm:42",
        "titles": [{"id": t, "external_ids": {"movielens": str(1000 + t)}} for t in expected],
    }
    assert len(expected) == 3
    assert f"Exported {len(profiles)} profiles (top 3)." in err


def test_export_to_a_file(live, tmp_path):
    profiles, _titles, _ = live
    target = tmp_path / "recs.jsonl"
    call_command("recs_export", "--k", "2", "--output", str(target), stderr=StringIO())
    lines = target.read_text().splitlines()
    assert len(lines) == len(profiles)
    assert [len(json.loads(x)["titles"]) for x in lines] == [2] * len(profiles)


@pytest.mark.parametrize("k", ["0", "101"])
def test_k_out_of_range_is_refused(live, k):
    with pytest.raises(CommandError, match="--k must be from 1 to 100"):
        export("--k", k)


def test_without_a_live_model_the_export_says_so(catalogue):
    with pytest.raises(CommandError, match="No live model: train one first"):
        export("--k", "10")
