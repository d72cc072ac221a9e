"""The staff permission matrix of docs/operations.md, held by walking every staff URL.

Every admin URL (from the URL resolver: each registered model's changelist, add, history,
delete and change views, every custom admin view, the site's own views), everything under
/staff/ and /api/v1/staff/, and every other view marked with a staff rule
(streamsite.api.permissions.staff_rule, streamsite.roles.staff_page) is requested with GET and
with an empty POST as each role. A request is refused when it answers 401 or 403 or sends the
user to a sign-in page; object ids name no row, so an allowed user gets the view's own
302/404/405/400. A URL missing from the matrix, or a row naming a URL that no longer exists,
fails the test.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver

from streamsite import roles
from tests.factories import UserFactory

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
ROLE_COLUMNS = [
    "customer",
    "staff",
    "content editor",
    "support",
    "finance",
    "operations",
    "superuser",
]
STAFF_PREFIXES = ("admin/", "staff/", "api/v1/staff/")
SAMPLES = {"int": "999999", "path": "999999", "str": "retry", "slug": "no-such-thing"}
SAMPLES["uuid"] = str(uuid.UUID(int=0))
LOGIN_PATHS = ("/admin/login/", "/login/")


# --- The matrix in the docs ---------------------------------------------------------------------


def _table(heading: str) -> dict[str, dict[str, str]]:
    """The markdown table right under `heading`: first column -> {role: cell}."""
    text = DOC.read_text()
    start = text.index(heading)
    rows: dict[str, dict[str, str]] = {}
    header: list[str] | None = None
    for line in text[start:].splitlines()[1:]:
        if not line.startswith("|"):
            if header is not None:
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = [c.lower() for c in cells]
            assert header[1:] == ROLE_COLUMNS, header
            continue
        if set(cells[0]) <= {"-", " ", ":"}:
            continue
        key = cells[0].strip("`")
        assert key not in rows, f"{key} is twice in the matrix"
        rows[key] = dict(zip(ROLE_COLUMNS, cells[1:], strict=True))
    return rows


# --- The URLs -----------------------------------------------------------------------------------


def _is_staff_view(callback) -> bool:
    if getattr(callback, "staff_rule", None) is not None:
        return True
    view_class = getattr(callback, "cls", None)  # a DRF APIView
    return any(
        getattr(p, "staff_rule", None) is not None
        for p in getattr(view_class, "permission_classes", ())
    )


def _walk(patterns, prefix: str = ""):
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield route, p.callback


def _concrete(route: str) -> list[tuple[str, str]]:
    """(matrix key, path to request) for a route; regex routes (the admin's app index and
    catch-all) are expanded by hand."""
    if "(?P<app_label>" in route:
        labels = re.search(r"\(\?P<app_label>([^)]*)\)", route).group(1).split("|")
        head = route.split("^")[0]
        return [(f"{head}{label}/", f"/{head}{label}/") for label in labels]
    if "(?P<url>" in route:
        head = route.split("(?P<url>")[0].replace("^", "")
        return [(f"{head}<url>", f"/{head}no-such-page/")]
    path = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES[m.group(1) or "str"], route)
    return [(route, "/" + path)]


def staff_urls() -> dict[str, str]:
    urls: dict[str, str] = {}
    for route, callback in _walk(get_resolver().url_patterns):
        if route.startswith(STAFF_PREFIXES) or _is_staff_view(callback):
            urls.update(_concrete(route))
    return urls


# --- Roles --------------------------------------------------------------------------------------


@pytest.fixture
def people(db):
    groups = {g.name: g for g in Group.objects.all()}
    people = {
        "customer": UserFactory(email="customer@example.com"),
        "staff": UserFactory(email="nogroup@example.com", is_staff=True),
        "superuser": UserFactory(email="root@example.com", is_staff=True, is_superuser=True),
    }
    for column, group in (
        ("content editor", roles.CONTENT_EDITOR),
        ("support", roles.SUPPORT),
        ("finance", roles.FINANCE),
        ("operations", roles.OPERATIONS),
    ):
        user = UserFactory(email=f"{column.replace(' ', '-')}@example.com", is_staff=True)
        user.groups.add(groups[group])
        people[column] = user
    return people


def _refused(response) -> bool:
    if response.status_code in (401, 403):
        return True
    location = response.get("Location", "") if response.status_code in (301, 302) else ""
    return location.startswith(LOGIN_PATHS)


def _cell(get_ok: bool, post_ok: bool) -> str:
    return {(True, True): "yes", (True, False): "read", (False, True): "write"}.get(
        (get_ok, post_ok), "no"
    )


def test_the_groups_hold_exactly_the_roles_permissions(db):
    for name, wanted in roles.ROLES.items():
        held = {
            f"{app}.{code}"
            for app, code in Group.objects.get(name=name).permissions.values_list(
                "content_type__app_label", "codename"
            )
        }
        assert held == set(wanted), name


def test_every_staff_url_answers_each_role_as_the_matrix_says(people):
    matrix = _table("### Staff permission matrix")
    urls = staff_urls()
    assert sorted(set(urls) - set(matrix)) == [], "staff URLs missing from docs/operations.md"
    assert sorted(set(matrix) - set(urls)) == [], "matrix rows naming no URL"
    got: dict[str, dict[str, str]] = {key: {} for key in urls}
    for column, user in people.items():
        client = Client()
        client.force_login(user)
        for key, path in sorted(urls.items()):
            get_ok = not _refused(client.get(path))
            post_ok = not _refused(client.post(path))
            if "logout" in key:
                client.force_login(user)
            got[key][column] = _cell(get_ok, post_ok)
    wrong = [
        f"{key} as {column}: matrix says {matrix[key][column]}, answered {cell}"
        for key, cells in sorted(got.items())
        for column, cell in cells.items()
        if matrix[key][column] != cell
    ]
    assert wrong == []


def test_the_admin_actions_offered_to_each_role_are_the_matrix(people):
    matrix = _table("### Admin actions by role")
    factory = RequestFactory()
    got: dict[str, dict[str, str]] = {}
    for model, model_admin in admin.site._registry.items():
        names = list(model_admin.get_actions(_request(factory, people["superuser"])))
        for name in names:
            got[f"{model._meta.label_lower}: {name}"] = {
                column: "yes" if name in model_admin.get_actions(_request(factory, user)) else "no"
                for column, user in people.items()
            }
    assert sorted(set(got) ^ set(matrix)) == []
    wrong = [
        f"{key} as {column}: matrix {matrix[key][column]}, offered {cell}"
        for key, cells in sorted(got.items())
        for column, cell in cells.items()
        if matrix[key][column] != cell
    ]
    assert wrong == []


def _request(factory: RequestFactory, user):
    request = factory.get("/admin/")
    request.user = user
    return request
