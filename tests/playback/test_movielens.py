"""import_movielens on both layouts, built here as tiny files; malformed lines; re-runs."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Profile, User
from catalog.models import Availability, ExternalId, Title
from playback.models import ThumbRating, ViewingEvent
from playback.services.movielens import split_title

GENRES = "unknown|0\nAction|1\nAdventure|2\nAnimation|3\nChildren's|4\nComedy|5\nCrime|6\n" + (
    "Documentary|7\nDrama|8\nFantasy|9\nFilm-Noir|10\nHorror|11\nMusical|12\nMystery|13\n"
    "Romance|14\nSci-Fi|15\nThriller|16\nWar|17\nWestern|18\n"
)


def flags(*on: int) -> str:
    return "|".join("1" if i in on else "0" for i in range(19))


def ml100k(tmp_path: Path) -> Path:
    d = tmp_path / "ml-100k"
    d.mkdir()
    (d / "u.genre").write_text(GENRES, encoding="latin-1")
    (d / "u.item").write_text(
        f"1|Toy Story (1995)|01-Jan-1995||http://x|{flags(3, 4, 5)}\n"
        f"2|Shawshank Redemption, The (1994)|01-Jan-1994||http://x|{flags(8)}\n"
        "3|Broken line without flags\n"
        f"4|Café Society (1995)|01-Jan-1995||http://x|{flags(8, 14)}\n",
        encoding="latin-1",
    )
    (d / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n", encoding="latin-1")
    (d / "u.data").write_text(
        "1\t1\t5\t881250949\n"
        "1\t2\t3\t881250950\n"
        "2\t1\t4\t881250951\n"
        "2\tx\t4\t881250952\n"
        "2\t4\t9\t881250953\n"
        "2\t99\t4\t881250954\n"
    )
    return d


def ml_latest(tmp_path: Path) -> Path:
    d = tmp_path / "ml-latest-small"
    d.mkdir()
    (d / "movies.csv").write_text(
        "movieId,title,genres\n"
        "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
        '11,"American President, The (1995)",Comedy|Drama|Romance\n'
        "12,,Comedy\n"
        "13,Untitled Film,(no genres listed)\n"
    )
    (d / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n"
        "1,1,4.0,964982703\n"
        "1,11,2.5,964981247\n"
        "7,13,3.5,964982224\n"
        "7,1,not-a-number,964982224\n"
        "7,1\n"
    )
    return d


def run(path: Path) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_movielens", str(path), "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
class TestMl100k:
    def test_titles_genres_year_external_id_and_availability(self, tmp_path):
        run(ml100k(tmp_path))
        assert list(Title.objects.order_by("name").values_list("name", "year", "is_published")) == [
            ("Café Society", 1995, True),
            ("The Shawshank Redemption", 1994, True),
            ("Toy Story", 1995, True),
        ]
        toy = Title.objects.get(name="Toy Story")
        assert sorted(toy.genres.values_list("name", flat=True)) == [
            "Animation",
            "Children's",
            "Comedy",
        ]
        assert list(toy.external_ids.values_list("source", "value")) == [("movielens", "1")]
        assert list(Availability.objects.filter(title=toy).values_list("country", "ends_at")) == [
            ("", None)
        ]

    def test_users_become_accounts_and_profiles_with_external_ids(self, tmp_path):
        run(ml100k(tmp_path))
        assert sorted(Profile.objects.values_list("external_id", flat=True)) == [
            "movielens:1",
            "movielens:2",
        ]
        assert User.objects.filter(email="movielens-1@movielens.invalid").count() == 1
        assert not User.objects.get(email="movielens-1@movielens.invalid").has_usable_password()

    def test_ratings_become_events_and_ratings_with_original_timestamps(self, tmp_path):
        run(ml100k(tmp_path))
        rating = ThumbRating.objects.get(
            profile__external_id="movielens:1", title__name="Toy Story"
        )
        assert (rating.value, rating.score) == (1, 5.0)
        assert rating.rated_at == datetime.fromtimestamp(881250949, tz=UTC)
        shawshank = ThumbRating.objects.get(title__name="The Shawshank Redemption")
        assert (shawshank.value, shawshank.score) == (-1, 3.0)
        events = ViewingEvent.objects.order_by("occurred_at")
        assert [(e.profile.external_id, e.title.name, e.event_type) for e in events] == [
            ("movielens:1", "Toy Story", "complete"),
            ("movielens:1", "The Shawshank Redemption", "complete"),
            ("movielens:2", "Toy Story", "complete"),
        ]

    def test_malformed_lines_are_reported_with_file_and_line_and_skipped(self, tmp_path):
        out, err = run(ml100k(tmp_path))
        assert err.splitlines() == [
            "u.item:3: expected 24 '|' fields with an id; skipped",
            "u.data:4: user, movie and timestamp must be integers, rating a number; skipped",
            "u.data:5: rating 9 outside 0.5-5; skipped",
            "u.data:6: rating of unknown movie 99; skipped",
        ]
        assert "3 titles created" in out
        assert "4 lines skipped" in out

    def test_rerun_creates_nothing_new(self, tmp_path):
        path = ml100k(tmp_path)
        run(path)
        counts = (
            Title.objects.count(),
            ExternalId.objects.count(),
            User.objects.count(),
            Profile.objects.count(),
            ViewingEvent.objects.count(),
            ThumbRating.objects.count(),
            Availability.objects.count(),
        )
        out, _ = run(path)
        assert counts == (3, 3, 2, 2, 3, 3, 3)
        assert (
            Title.objects.count(),
            ExternalId.objects.count(),
            User.objects.count(),
            Profile.objects.count(),
            ViewingEvent.objects.count(),
            ThumbRating.objects.count(),
            Availability.objects.count(),
        ) == counts
        assert "0 titles created (3 already there), 0 profiles created" in out
        assert "0 new viewing events" in out

    def test_popularity_and_search_are_ready_after_import(self, tmp_path):
        run(ml100k(tmp_path))
        assert Title.objects.get(name="Toy Story").view_count == 4  # 2 completes + 2 thumbs up
        assert Title.objects.filter(search_dirty=True).count() == 0


@pytest.mark.django_db
class TestMlLatestSmall:
    def test_imports_titles_ratings_and_reports_bad_lines(self, tmp_path):
        out, err = run(ml_latest(tmp_path))
        assert list(Title.objects.order_by("name").values_list("name", "year")) == [
            ("The American President", 1995),
            ("Toy Story", 1995),
            ("Untitled Film", None),
        ]
        assert list(Title.objects.get(name="Untitled Film").genres.all()) == []
        assert err.splitlines() == [
            "movies.csv:4: expected movieId,title,genres; skipped",
            "ratings.csv:5: user, movie and timestamp must be integers, rating a number; skipped",
            "ratings.csv:6: expected 4 fields: user, movie, rating, timestamp; skipped",
        ]
        assert sorted(
            ThumbRating.objects.values_list("profile__external_id", "title__name", "value", "score")
        ) == [
            ("movielens:1", "The American President", -1, 2.5),
            ("movielens:1", "Toy Story", 1, 4.0),
            ("movielens:7", "Untitled Film", 1, 3.5),
        ]

    def test_rerun_creates_nothing_new(self, tmp_path):
        path = ml_latest(tmp_path)
        run(path)
        before = (Title.objects.count(), Profile.objects.count(), ViewingEvent.objects.count())
        run(path)
        assert (Title.objects.count(), Profile.objects.count(), ViewingEvent.objects.count()) == (
            before
        )
        assert before == (3, 2, 3)

    def test_changed_rating_on_rerun_updates_it(self, tmp_path):
        path = ml_latest(tmp_path)
        run(path)
        text = (path / "ratings.csv").read_text().replace("1,1,4.0,", "1,1,1.0,")
        (path / "ratings.csv").write_text(text)
        run(path)
        rating = ThumbRating.objects.get(
            profile__external_id="movielens:1", title__name="Toy Story"
        )
        assert (rating.value, rating.score) == (-1, 1.0)


def test_not_a_movielens_directory_is_a_clear_error(tmp_path, db):
    with pytest.raises(CommandError, match="is not a MovieLens directory"):
        call_command("import_movielens", str(tmp_path), "--no-progress")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Toy Story (1995)", ("Toy Story", 1995)),
        ("Shawshank Redemption, The (1994)", ("The Shawshank Redemption", 1994)),
        ("Untitled", ("Untitled", None)),
    ],
)
def test_split_title(raw, expected):
    assert split_title(raw) == expected
