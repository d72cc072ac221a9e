"""import_catalog: the documented JSON and CSV schemas, upserts, bad records."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from catalog.models import Availability, Credit, Episode, Title


def run(path):
    out, err = StringIO(), StringIO()
    call_command("import_catalog", str(path), "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


RECORDS = [
    {
        "name": "Glass Coast",
        "kind": "series",
        "year": 2019,
        "rating": "TV-14",
        "synopsis": "A lighthouse, a storm.",
        "genres": ["Drama", "Mystery"],
        "tags": ["coastal"],
        "cast": [{"name": "Ada Marlow", "character": "Keeper"}, "Lu Chen"],
        "directors": ["Ines Varga"],
        "external_ids": {"imdb": "tt0000001"},
        "availability": [
            {"country": "US", "starts": "2020-01-01"},
            {"country": "GB", "starts": "2020-01-01", "ends": "2030-01-01"},
        ],
        "seasons": [{"number": 1, "episodes": [{"number": 1, "name": "Pilot"}]}],
    },
    {"kind": "movie"},
    {"name": "Bad Rating", "rating": "XXX"},
]


@pytest.mark.django_db
class TestJson:
    def test_creates_titles_and_reports_bad_records(self, tmp_path):
        path = tmp_path / "catalog.json"
        path.write_text(json.dumps(RECORDS))
        out, err = run(path)
        assert out.strip() == "1 titles created, 0 updated, 2 skipped."
        assert err.splitlines() == [
            "catalog.json: record 2: a title needs a name; skipped",
            "catalog.json: record 3: unknown rating 'XXX'; skipped",
        ]
        title = Title.objects.get()
        assert (title.name, title.kind, title.maturity_level, title.tags) == (
            "Glass Coast",
            "series",
            20,
            ["coastal"],
        )
        assert sorted(title.genres.values_list("name", flat=True)) == ["Drama", "Mystery"]
        assert list(
            Credit.objects.order_by("role", "order").values_list(
                "person__name", "role", "character"
            )
        ) == [
            ("Ada Marlow", "actor", "Keeper"),
            ("Lu Chen", "actor", ""),
            ("Ines Varga", "director", ""),
        ]
        assert sorted(Availability.objects.values_list("country", flat=True)) == ["GB", "US"]
        assert list(Episode.objects.values_list("season__number", "number", "name")) == [
            (1, 1, "Pilot")
        ]

    def test_rerun_updates_by_external_id(self, tmp_path):
        path = tmp_path / "catalog.json"
        path.write_text(json.dumps(RECORDS[:1]))
        run(path)
        changed = dict(RECORDS[0], name="Glass Coast (Restored)")
        path.write_text(json.dumps([changed]))
        out, _ = run(path)
        assert out.strip() == "0 titles created, 1 updated, 0 skipped."
        assert list(Title.objects.values_list("name", flat=True)) == ["Glass Coast (Restored)"]
        assert Credit.objects.count() == 3
        assert Availability.objects.count() == 2


@pytest.mark.django_db
def test_csv_with_countries_and_everywhere(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text(
        "name,kind,year,rating,genres,cast,countries,available_from,imdb_id\n"
        "Iron Orchard,movie,2001,PG,Drama|War,Ada Marlow|Lu Chen,US|DE,2020-01-01,tt9\n"
        "Everywhere Film,movie,1999,G,,,*,,\n"
        "Broken,movie,nineteen,G,,,*,,\n"
    )
    out, err = run(path)
    assert out.strip() == "2 titles created, 0 updated, 1 skipped."
    assert err.strip() == "catalog.csv:4: year must be a whole number, got 'nineteen'; skipped"
    orchard = Title.objects.get(name="Iron Orchard")
    assert sorted(orchard.availabilities.values_list("country", flat=True)) == ["DE", "US"]
    assert list(orchard.external_ids.values_list("source", "value")) == [("imdb", "tt9")]
    assert list(
        Title.objects.get(name="Everywhere Film").availabilities.values_list("country", flat=True)
    ) == [""]
