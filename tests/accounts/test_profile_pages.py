"""Profile pages: the picker, switching (with PINs), managing, and the page matrix."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from accounts import selectors
from accounts.models import Profile
from accounts.permissions import profile_required
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _switch(client: Client, profile: Profile, **data):
    return client.post(f"/profiles/{profile.pk}/switch/", data)


def test_picker_lists_profiles_with_avatars_and_pin_badges(household, alice_client):
    response = alice_client.get("/profiles/")
    assert response.status_code == 200
    assert [p.name for p in response.context["profiles"]] == ["Alice", "Private", "Kiddo"]
    assert response.content.count(b'aria-label="Locked with a PIN"') == 1
    assert b"<h1>Who's watching?</h1>" in response.content


@pytest.mark.parametrize("extra", [0, 4])
def test_picker_costs_the_same_queries_for_one_or_many(
    alice, alice_client, django_assert_num_queries, extra
):
    from accounts import services

    services.profile_create(account=alice, name="First")
    for n in range(extra):
        services.profile_create(account=alice, name=f"P{n}")
    alice_client.get("/profiles/")
    # the profiles only: the session from the cache, its user remembered by this process
    with django_assert_num_queries(1):
        response = alice_client.get("/profiles/")
    assert len(response.context["profiles"]) == 1 + extra


def test_picker_without_profiles_offers_to_create_one(alice, alice_client):
    response = alice_client.get("/profiles/")
    assert b"This account has no profiles yet." in response.content


def test_picker_requires_sign_in():
    response = Client().get("/profiles/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/profiles/"


def test_switching_to_a_profile_without_pin_puts_it_in_the_session(household, alice_client):
    response = _switch(alice_client, household["main"], next="/browse/")
    assert response.status_code == 302
    assert response["Location"] == "/browse/"
    assert alice_client.session[selectors.SESSION_PROFILE] == household["main"].pk
    page = alice_client.get("/profiles/")
    assert page.context["current"] == household["main"]


def test_switching_to_a_locked_profile_needs_its_pin(household, alice_client):
    locked = household["locked"]
    response = _switch(alice_client, locked, pin="0000")
    assert response.status_code == 400
    assert b"That PIN is not right." in response.content
    assert selectors.SESSION_PROFILE not in alice_client.session
    assert _switch(alice_client, locked, pin="1234").status_code == 302
    assert alice_client.session[selectors.SESSION_PROFILE] == locked.pk


def test_switching_to_another_accounts_profile_is_404(household, bob_profile, alice_client):
    assert _switch(alice_client, bob_profile).status_code == 404
    assert selectors.SESSION_PROFILE not in alice_client.session


def test_profile_required_sends_to_the_picker_then_lets_through(
    household, alice, rf: RequestFactory
):
    @profile_required
    def page(request: HttpRequest) -> HttpResponse:
        return HttpResponse(selectors.request_profile(request).name)  # type: ignore[union-attr]

    request = rf.get("/watch/1?t=5")
    request.user = alice
    request.session = {}  # type: ignore[assignment]
    response = page(request)
    assert response.status_code == 302
    assert response["Location"] == "/profiles/?next=%2Fwatch%2F1%3Ft%3D5"
    request = rf.get("/watch/1")
    request.user = alice
    request.session = {selectors.SESSION_PROFILE: household["main"].pk}  # type: ignore[assignment]
    assert page(request).content == b"Alice"


def test_a_pin_added_later_is_enforced_on_the_session(household, alice, alice_client):
    from accounts import services

    _switch(alice_client, household["main"])
    services.profile_pin_set(
        profile=household["main"], account=alice, password=PASSWORD, pin="5555"
    )
    assert alice_client.get("/profiles/").context["current"] is None


def test_manage_page_creates_a_profile(household, alice_client, settings):
    settings.ACCOUNTS_MAX_PROFILES = 4
    response = alice_client.post(
        "/profiles/manage/",
        {"name": "Grandma", "maturity": "20", "language": "en", "avatar": "rose"},
    )
    assert response.status_code == 302
    grandma = Profile.objects.get(name="Grandma")
    assert (grandma.maturity, grandma.avatar) == (20, "rose")
    page = alice_client.get("/profiles/manage/")
    assert page.context["full"] is True
    assert b"This account has the most profiles it may have." in page.content


def test_manage_page_shows_errors_next_to_fields(household, alice_client):
    response = alice_client.post(
        "/profiles/manage/", {"name": "Alice", "maturity": "30", "language": "en"}
    )
    assert response.status_code == 400
    assert b'id="id_name_error"' in response.content
    assert b"Another profile already has that name." in response.content
    assert Profile.objects.filter(name="Alice").count() == 1


def test_kids_profile_cannot_open_account_or_manage_pages(household, alice_client):
    _switch(alice_client, household["kid"])
    for url in ["/profiles/manage/", "/account/", "/account/tokens/", "/account/devices/"]:
        response = alice_client.get(url)
        assert response.status_code == 403, url
        assert b"A kids profile cannot manage profiles or the account." in response.content
    menu = alice_client.get("/profiles/")
    assert b"Manage profiles" not in menu.content


@pytest.mark.parametrize(
    ("actor", "status"),
    [
        ("anonymous", 302),
        ("other_account", 404),
        ("staff", 404),
        ("kids_profile", 403),
        ("other_profile", 403),
    ],
)
def test_edit_and_delete_pages_denied_change_nothing(household, alice, bob, staff, actor, status):
    target = household["locked"]
    client = Client()
    if actor == "other_account":
        client.force_login(bob)
    elif actor == "staff":
        client.force_login(staff)
    elif actor in ("kids_profile", "other_profile"):
        client.force_login(alice)
        _switch(client, household["kid" if actor == "kids_profile" else "main"])
    edit = client.post(
        f"/profiles/{target.pk}/edit/", {"name": "Hacked", "maturity": "10", "language": "en"}
    )
    delete = client.post(f"/profiles/{target.pk}/delete/")
    assert (edit.status_code, delete.status_code) == (status, status)
    target.refresh_from_db()
    assert target.name == "Private"


def test_owner_edits_then_deletes_a_profile(household, alice_client):
    target = household["main"]
    response = alice_client.post(
        f"/profiles/{target.pk}/edit/",
        {"name": "Alicia", "maturity": "20", "language": "de", "avatar": "teal"},
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.name, target.maturity, target.language, target.avatar) == (
        "Alicia",
        20,
        "de",
        "teal",
    )
    assert alice_client.post(f"/profiles/{target.pk}/delete/").status_code == 302
    assert not Profile.objects.filter(pk=target.pk).exists()


def test_owner_edits_a_locked_profile_after_switching_to_it(household, alice_client):
    target = household["locked"]
    _switch(alice_client, target, pin="1234")
    response = alice_client.post(
        f"/profiles/{target.pk}/edit/", {"name": "Mine", "maturity": "30", "language": "en"}
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.name == "Mine"


def test_pin_page_sets_and_removes_a_pin(household, alice_client):
    target = household["main"]
    assert (
        alice_client.post(
            f"/profiles/{target.pk}/pin/", {"pin": "2468", "password": PASSWORD}
        ).status_code
        == 302
    )
    target.refresh_from_db()
    assert target.has_pin
    wrong = alice_client.post(f"/profiles/{target.pk}/pin/", {"pin": "", "password": "nope"})
    assert wrong.status_code == 400
    assert b"Your account password is incorrect." in wrong.content
    target.refresh_from_db()
    assert target.has_pin


def test_deleting_the_last_profile_on_the_page_explains_why(alice, alice_client):
    from accounts import services

    only = services.profile_create(account=alice, name="Only")
    response = alice_client.post(f"/profiles/{only.pk}/delete/")
    assert response.status_code == 409
    assert b"The last profile cannot be deleted." in response.content
    assert Profile.objects.filter(pk=only.pk).exists()


def test_builtin_avatars_are_svg_and_unknown_names_404(db):
    response = Client().get("/avatars/ocean.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg ")
    assert Client().get("/avatars/nope.svg").status_code == 404


def test_browser_journey_create_three_profiles_switch_and_lock(alice, alice_client, settings):
    from django.utils import timezone

    alice.email_verified_at = timezone.now()
    alice.save()
    for name, extra in [("Me", {}), ("Little", {"is_kids": "on"}), ("Secret", {})]:
        alice_client.post(
            "/profiles/manage/", {"name": name, "maturity": "30", "language": "en", **extra}
        )
    secret = Profile.objects.get(name="Secret")
    alice_client.post(f"/profiles/{secret.pk}/pin/", {"pin": "9999", "password": PASSWORD})
    assert [(p.name, p.is_kids, p.has_pin) for p in Profile.objects.filter(account=alice)] == [
        ("Me", False, False),
        ("Little", True, False),
        ("Secret", False, True),
    ]
    _switch(alice_client, Profile.objects.get(name="Little"))
    assert alice_client.get("/profiles/").context["current"].name == "Little"
    _switch(alice_client, secret, pin="9999")
    assert alice_client.get("/profiles/").context["current"].name == "Secret"
