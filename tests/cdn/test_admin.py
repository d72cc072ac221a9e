"""Admin screens load for staff, and the edge actions go through the service."""

from __future__ import annotations

import pytest

from cdn.models import Edge, EdgeMode
from tests.cdn.factories import EdgeFactory
from tests.clients import browser_client as login


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model",
    [
        "site",
        "edge",
        "coveragezone",
        "countrydefault",
        "edgecontent",
        "steeringdecision",
        "edgemode",
    ],
)
def test_changelists_load_for_staff_only(staff, alice, model):
    EdgeMode.objects.create(edge=EdgeFactory(), lookups=3, pin_hits=1)
    page = login(staff).get(f"/admin/cdn/{model}/")
    assert page.status_code == 200
    assert page.context["cl"].model._meta.model_name == model  # that model's list
    refused = login(alice).get(f"/admin/cdn/{model}/")
    assert refused.status_code == 302 and refused["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_drain_action_sets_the_state(staff, django_capture_on_commit_callbacks):
    a = EdgeFactory(name="a")
    EdgeFactory(name="b")
    with django_capture_on_commit_callbacks(execute=True):
        response = login(staff).post(
            "/admin/cdn/edge/", {"action": "drain", "_selected_action": [a.pk]}
        )
    assert response.status_code == 302
    assert dict(Edge.objects.values_list("name", "admin_state")) == {"a": "drain", "b": "online"}


@pytest.mark.django_db
def test_edge_urls_typed_without_a_scheme_are_read_as_https(rf, staff):
    """On the edge's own page and in the site's edge rows alike (Django 6's default, which 5.2
    warns it does not have yet)."""
    from django.contrib.admin.sites import site as admin_site

    from cdn.admin import EdgeInline
    from cdn.models import Site

    request = rf.get("/admin/")
    request.user = staff
    edge_form = admin_site.get_model_admin(Edge).get_form(request)
    row_form = EdgeInline(Site, admin_site).get_formset(request).form
    for form in (edge_form, row_form):
        assert form.base_fields["base_url"].clean("e1.cdn.example/") == "https://e1.cdn.example/"
        assert form.base_fields["base_url"].clean("http://e1.cdn.example/") == (
            "http://e1.cdn.example/"
        )


@pytest.mark.django_db
def test_an_edges_mode_page_counts_its_touch_list_without_loading_the_lists(staff):
    """The lists can be as long as the catalogue: the page shows the count the database
    makes, and no query reads the lists or the arms."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    keys = [f"hls/t{n}/v1/s0.ts" for n in range(3)]
    row = EdgeMode.objects.create(
        edge=EdgeFactory(), touch_keys=keys, played=["hls/t0/v1/"], arms=b"x" * 100
    )
    client = login(staff)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/admin/cdn/edgemode/{row.pk}/change/")
    assert page.status_code == 200
    field = next(
        f
        for fs in page.context["adminform"]
        for line in fs
        for f in line
        if f.field["name"] == "files_to_touch"
    )
    assert field.contents() == "3"
    read = [q["sql"] for q in queries.captured_queries if "cdn_edgemode" in q["sql"]]
    assert read and not any(
        column in sql
        for sql in read
        for column in ('"played"', '"pinned"', '"arms"', '"heat"', '."touch_keys",')
    )
