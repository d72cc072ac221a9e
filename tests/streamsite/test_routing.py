"""SegmentResolver resolves every path exactly as Django's resolver over the same routes."""

from __future__ import annotations

import re

import pytest
from django.http import HttpResponse
from django.urls import URLResolver, include, path, re_path, resolve, reverse
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RoutePattern

from streamsite.routing import SegmentResolver
from streamsite.urls import api_v1

SAMPLES = {"int": "17", "slug": "some-thing", "uuid": "0b0e4f43-5ad2-4b4e-9e8c-0123456789ab"}


def view(name):
    def answer(request, **kwargs):
        return HttpResponse(name)

    answer.__name__ = name
    return answer


def both(routes):
    django = URLResolver(
        RoutePattern("api/v1/", is_endpoint=False), routes, app_name="api", namespace="api"
    )
    ours = SegmentResolver("api/v1/", routes, app_name="api", namespace="api")
    return django, ours


def same(django, ours, path_):
    try:
        expected = django.resolve(path_)
    except Resolver404:
        with pytest.raises(Resolver404):
            ours.resolve(path_)
        return None
    got = ours.resolve(path_)
    assert (got.func, got.args, got.kwargs, got.route, got.url_name, got.namespaces) == (
        expected.func,
        expected.args,
        expected.kwargs,
        expected.route,
        expected.url_name,
        expected.namespaces,
    ), path_
    return got


def sample_path(route: str) -> str:
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES[m.group(1) or "str"], route)


SAMPLES["str"] = "plain"


def test_every_api_route_resolves_as_djangos_resolver_would():
    django, ours = both(api_v1)
    seen = set()
    for route in api_v1:
        got = same(django, ours, "api/v1/" + sample_path(str(route.pattern)))
        assert got is not None and got.url_name == route.name
        seen.add(route.name)
    assert len(seen) > 50


@pytest.mark.parametrize(
    "path_",
    [
        "api/v1/",
        "api/v1/titles/",
        "api/v1/titlesx",
        "api/v1/titles/not-a-number",
        "api/v1/nothing/here",
        "api/v1/recommendations",
        "api/v2/titles",
        "api/v1//titles",
    ],
)
def test_paths_no_route_matches_are_404_for_both(path_):
    assert same(*both(api_v1), path_) is None


ROUTES = [
    path("a", view("a-exact")),
    re_path(r"^a(?P<n>\d+)$", view("a-regex")),  # not literal: a candidate for every path
    path("a/<int:n>", view("a-int")),
    path("<slug:kind>/list", view("any-list")),  # a converter first: any segment
    path("b/list", view("b-list")),  # shadowed by the converter route before it
    path("a/<slug:s>", view("a-slug")),
    path("c", include([path("d", view("cd")), path("/e", view("c-e"))])),  # an include, no slash
    path("f/", include([path("g", view("fg"))])),
]


@pytest.mark.parametrize(
    "path_",
    [
        "api/v1/a",
        "api/v1/a7",
        "api/v1/a/7",
        "api/v1/a/x",
        "api/v1/b/list",
        "api/v1/zzz/list",
        "api/v1/cd",
        "api/v1/c/e",
        "api/v1/f/g",
        "api/v1/f/h",
        "api/v1/ax",
    ],
)
def test_the_first_matching_route_wins_whatever_its_first_segment(path_):
    assert same(*both(ROUTES), path_) is not None or path_ in ("api/v1/f/h", "api/v1/ax")


def test_a_route_before_a_converter_route_still_wins_and_order_holds():
    _, ours = both(ROUTES)
    assert ours.resolve("api/v1/b/list").func.__name__ == "any-list"
    assert ours.resolve("api/v1/a7").func.__name__ == "a-regex"
    assert ours.resolve("api/v1/cd").func.__name__ == "cd"


def test_the_project_urls_use_it_and_reverse_is_unchanged():
    assert resolve("/api/v1/recommendations/rows").view_name == "api:recs-rows"
    assert reverse("api:title-detail", kwargs={"title_id": 3}) == "/api/v1/titles/3"
    assert resolve("/api/v1/titles/3").kwargs == {"title_id": 3}
