"""streamsite.prebuilt: a row inserted by the prebuilt statement reads back as save() stores it,
and the signals save() sends are sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db.models.signals import post_save, pre_save

from cdn.models import SteeringDecision
from streamsite.prebuilt import OneTrip, insert_row, insert_row_unless, one_trip_possible

pytestmark = pytest.mark.django_db

FIELDS = [
    "created_at",
    "client_ip",
    "country",
    "content_key",
    "located_by",
    "site_name",
    "urls",
    "edges",
]


def decision(**extra) -> SteeringDecision:
    values = {
        "created_at": datetime(2026, 12, 3, 15, 4, 5, 678901, tzinfo=UTC),
        "client_ip": "2001:db8::7",
        "country": "DE",
        "content_key": "hls/asset-9/v2/",
        "located_by": SteeringDecision.Located.GEO,
        "site_name": "fra",
        "urls": ["https://e1.example/hls/asset-9/v2/", "https://e2.example/x?y=ü"],
        "edges": [{"name": "e1", "weight": 0.5}, {"name": "e2", "nested": {"k": [1, None]}}],
    }
    return SteeringDecision(**{**values, **extra})


def as_saved(obj: SteeringDecision) -> dict:
    row = SteeringDecision.objects.get(pk=obj.pk)
    return {f: getattr(row, f) for f in FIELDS}


def test_a_row_reads_back_as_save_stores_it():
    by_save, by_insert = decision(), decision()
    by_save.save(force_insert=True)
    insert_row(by_insert)
    assert as_saved(by_insert) == as_saved(by_save)
    assert by_insert._state.adding is False and by_insert._state.db == "default"


def test_signals_are_sent_as_save_sends_them_and_not_for_a_refused_row():
    seen = []

    def pre(sender, instance, **kw):
        seen.append(("pre", instance.content_key))

    def post(sender, instance, created, **kw):
        seen.append(("post", instance.content_key, created))

    pre_save.connect(pre, sender=SteeringDecision)
    post_save.connect(post, sender=SteeringDecision)
    try:
        insert_row(decision(content_key="a"))
        assert insert_row_unless(decision(content_key="b"), "1 = 0", []) is True
        refused = decision(content_key="c")
        assert insert_row_unless(refused, "1 = %s", [1]) is False
    finally:
        pre_save.disconnect(pre, sender=SteeringDecision)
        post_save.disconnect(post, sender=SteeringDecision)
    assert seen == [
        ("pre", "a"),
        ("post", "a", True),
        ("pre", "b"),
        ("post", "b", True),
        ("pre", "c"),
    ]
    assert sorted(SteeringDecision.objects.values_list("content_key", flat=True)) == ["a", "b"]
    assert refused._state.adding is True


def test_the_condition_reads_the_table_it_inserts_into():
    """The refusal may count rows of the same table (playback's stream limit does)."""
    count = "(SELECT COUNT(*) FROM cdn_steeringdecision WHERE site_name = %s) >= %s"
    results = [insert_row_unless(decision(site_name="ams"), count, ["ams", 2]) for _ in range(3)]
    assert results == [True, True, False]
    assert SteeringDecision.objects.filter(site_name="ams").count() == 2


def test_a_values_query_returns_what_its_queryset_returns(alice, bob):
    from accounts.models import Profile
    from streamsite.prebuilt import ValuesQuery

    for account, name in ((alice, "Ann"), (alice, "Kid"), (bob, "Bo")):
        Profile.objects.create(account=account, name=name, is_kids=name == "Kid")

    def build(account_id):
        return (
            Profile.objects.filter(account_id=account_id, maturity__gte=0)
            .order_by("name")
            .values_list("pk", "name", "is_kids", "created_at", "account__email")
        )

    query = ValuesQuery(build)
    for account_id in (alice.pk, bob.pk, 0):
        assert query(account_id) == list(build(account_id)), account_id
    assert [row[2] for row in query(alice.pk)] == [False, True]  # booleans, not 0/1


def test_a_values_query_refuses_a_queryset_whose_argument_is_not_one_parameter():
    from accounts.models import Profile
    from streamsite.prebuilt import ValuesQuery

    both = ValuesQuery(lambda n: Profile.objects.filter(pk=n, account_id=n).values_list("pk"))
    with pytest.raises(ValueError, match="exactly one parameter"):
        both(1)


# --- OneTrip: several statements, one round trip, one transaction (PostgreSQL) ---------------
# Each test runs under both bindings (tests/conftest.py `binding`): client-side, the statements
# go as one simple-protocol message; server-side, as one pipeline of prepared statements.
needs_one_trip = pytest.mark.skipif(
    not one_trip_possible(),
    reason="OneTrip runs on PostgreSQL; elsewhere its callers take their statement-by-statement "
    "path, which their own tests cover",
)
TABLE = "cdn_steeringdecision"
SAME_SITE = f"EXISTS (SELECT 1 FROM {TABLE} WHERE site_name = %s)"  # noqa: S608 - our table


def _numbered(sql: str) -> str:
    parts = sql.split("%s")
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))


def _trip_of_three(site: str, *, third: str = "SELECT COUNT(*) FROM cdn_steeringdecision"):
    trip = OneTrip()
    first = trip.insert(decision(site_name=site, content_key="first"))
    second = trip.insert(
        decision(site_name=site, content_key="second"),
        when=(SAME_SITE, [site]),
    )
    last = trip.add(third)
    return trip, (first, second, last)


@needs_one_trip
@pytest.mark.django_db(transaction=True)
def test_one_trip_runs_in_one_go_and_each_statement_sees_the_ones_before(binding):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    trip, (first, second, last) = _trip_of_three("lhr")
    with CaptureQueriesContext(connection) as ctx:
        results = trip.run()
    statements = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    if binding == "client-side":  # one message of three statements
        assert len(statements) == 1 and statements[0].count(";\n") == 2
    else:  # three statements in one pipeline, each prepared (threshold 1)
        assert len(statements) == 3 and not any(";" in sql for sql in statements)
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            prepared = {r[0] for r in cursor.fetchall() if "pg_prepared_statements" not in r[0]}
        # Each of the trip's statements, its placeholders numbered $1, $2, ... as psycopg sends
        # them (the connection's own setup, e.g. its time zone, is prepared there too).
        assert {_numbered(sql) for sql, _ in trip._statements} <= prepared
    # The second's condition saw the first's row; the count saw both.
    assert [results[first].rowcount, results[second].rowcount] == [1, 1]
    assert results[last].rows == [(2,)]
    assert SteeringDecision.objects.filter(site_name="lhr").count() == 2


@needs_one_trip
@pytest.mark.django_db(transaction=True)
def test_one_trip_conditions_refuse_rows_and_their_signals(binding):
    seen = []

    def post(sender, instance, created, **kw):
        seen.append(instance.content_key)

    trip = OneTrip()
    kept = trip.insert(decision(content_key="kept"), unless=("1 = %s", [0]))
    refused = trip.insert(decision(content_key="refused"), unless=("1 = %s", [1]))
    not_when = trip.insert(decision(content_key="not-when"), when=("1 = %s", [0]))
    post_save.connect(post, sender=SteeringDecision)
    try:
        results = trip.run()
    finally:
        post_save.disconnect(post, sender=SteeringDecision)
    assert [results[i].rowcount for i in (kept, refused, not_when)] == [1, 0, 0]
    assert seen == ["kept"]
    assert list(SteeringDecision.objects.values_list("content_key", flat=True)) == ["kept"]


@needs_one_trip
@pytest.mark.django_db(transaction=True)
def test_a_statement_that_fails_undoes_the_ones_before_it_in_a_savepoint(binding):
    """Inside a transaction (a caller's) a failure undoes the trip's statements only, and the
    transaction goes on."""
    from django.db import DatabaseError, transaction

    with transaction.atomic():
        SteeringDecision.objects.create(**{f: getattr(decision(), f) for f in FIELDS})
        trip, _ = _trip_of_three("cdg", third="SELECT 1 / 0")
        with pytest.raises(DatabaseError):
            trip.run()
        assert SteeringDecision.objects.count() == 1  # the row made before the trip is there
        SteeringDecision.objects.create(**{f: getattr(decision(), f) for f in FIELDS})
    assert SteeringDecision.objects.count() == 2


def test_one_trip_takes_one_statement_per_add():
    with pytest.raises(ValueError):
        OneTrip().add("SELECT 1; SELECT 2")


@needs_one_trip
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_trip_commits_or_rolls_back_as_one(second_connection, binding):
    """No atomic block (a production request): PostgreSQL's implicit transaction of the one
    message or pipeline. A failure in the last statement leaves nothing of the first two; a
    trip that succeeds is committed, seen from another connection."""
    import psycopg
    from django.db import DatabaseError, connection

    assert not connection.in_atomic_block
    trip, _ = _trip_of_three("ord", third="SELECT 1 / 0")
    with pytest.raises(DatabaseError):
        trip.run()
    assert not SteeringDecision.objects.filter(site_name="ord").exists()
    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE

    trip, _ = _trip_of_three("sfo")
    trip.run()
    count = second_connection.execute(
        "SELECT COUNT(*) FROM cdn_steeringdecision WHERE site_name = 'sfo'"
    ).fetchone()
    assert count == (2,)
