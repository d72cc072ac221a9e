"""Import -> train in one flow: the import leaves its activity folded, and recs_train folds
whatever nobody has folded yet."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from playback.signals import activity_imported
from recommendations.models import DirtyProfile, Interaction, ModelVersion
from recommendations.receivers import fold_imported_activity


def write_ml100k(path: Path) -> None:
    """A tiny ml-100k directory: 6 users, 5 movies; users 1-3 like 1-3, users 4-6 like 3-5."""
    genres = ["unknown", "Action", "Comedy"]
    (path / "u.genre").write_text("".join(f"{g}|{i}\n" for i, g in enumerate(genres)))
    items = []
    for m in range(1, 6):
        flags = "|".join(["0", "1" if m <= 3 else "0", "1" if m > 3 else "0"])
        items.append(f"{m}|Film {m} (1995)|01-Jan-1995||http://x|{flags}")
    (path / "u.item").write_text("\n".join(items) + "\n", encoding="latin-1")
    lines, t = [], 880_000_000
    for user in range(1, 7):
        liked = [1, 2, 3] if user <= 3 else [3, 4, 5]
        for movie in liked:
            t += 60
            lines.append(f"{user}\t{movie}\t{5 if movie != 3 else 2}\t{t}")
    (path / "u.data").write_text("\n".join(lines) + "\n")


def assert_folded_import() -> None:
    # 18 ratings became 18 interactions: completed views (3), plus thumbs up (2) for 5 stars;
    # the 2-star ones (movie 3) are thumbs down, which adds 0: the view still counts
    assert Interaction.objects.count() == 18
    assert Interaction.objects.filter(weight=5.0).count() == 12
    assert Interaction.objects.filter(weight=3.0).count() == 6
    assert DirtyProfile.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_import_leaves_its_activity_folded_and_recs_train_trains_on_it(tmp_path, settings):
    settings.RECS_HOLDOUT = 1
    write_ml100k(tmp_path)
    err = io.StringIO()
    call_command("import_movielens", str(tmp_path), stdout=io.StringIO(), stderr=err)
    assert_folded_import()
    assert "fold for recommendations" in err.getvalue()  # the fold's own progress bar

    out, err = io.StringIO(), io.StringIO()
    call_command("recs_train", "--algorithm", "ease", stdout=out, stderr=err)

    assert_folded_import()
    version = ModelVersion.objects.get()
    assert version.status == "live"
    assert (version.n_profiles, version.n_titles, version.n_interactions) == (6, 5, 18)
    assert out.getvalue().startswith(f"version #{version.pk} ease")


@pytest.mark.django_db(transaction=True)
def test_recs_train_folds_activity_nobody_has_folded_yet(tmp_path, settings):
    settings.RECS_HOLDOUT = 1
    write_ml100k(tmp_path)
    # the import's fold disconnected: activity written and never folded (a backlog, a beat
    # that was down, an importer without the signal)
    activity_imported.disconnect(dispatch_uid="recs-fold-imported")
    try:
        call_command("import_movielens", str(tmp_path), "--no-progress", stdout=io.StringIO())
    finally:
        activity_imported.connect(fold_imported_activity, dispatch_uid="recs-fold-imported")
    assert Interaction.objects.count() == 0

    out, err = io.StringIO(), io.StringIO()
    call_command("recs_train", "--algorithm", "ease", stdout=out, stderr=err)

    assert_folded_import()
    version = ModelVersion.objects.get()
    assert version.status == "live"
    assert version.n_interactions == 18
    assert "fold pending activity" in err.getvalue()


@pytest.mark.django_db(transaction=True)
def test_recs_train_with_no_activity_at_all_names_the_missing_step(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"No viewing activity to learn from: import some"):
        call_command("recs_train", stdout=io.StringIO(), stderr=io.StringIO())
    assert Interaction.objects.count() == 0
    assert ModelVersion.objects.get().status == "failed"
