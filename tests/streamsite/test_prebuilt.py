"""streamsite.prebuilt: a row inserted by the prebuilt statement reads back as save() stores it,
and the signals save() sends are sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db.models.signals import post_save, pre_save

from cdn.models import SteeringDecision
from streamsite.prebuilt import insert_row, insert_row_unless

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
