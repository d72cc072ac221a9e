"""Onboarding page and the admin's "home page as this profile": access matrix and behaviour."""

from __future__ import annotations

import pytest
from django.test import Client

from playback.models import ThumbRating
from recommendations.models import Interaction
from tests.clients import browser_client as browser
from tests.factories import UserFactory
from tests.recommendations.factories import ProfileFactory

ONBOARDING = "/onboarding/"


def home_as(profile_id):
    return f"/admin/recommendations/interaction/home-as/{profile_id}/"


@pytest.fixture
def newcomer(live):
    profiles, titles, _ = live
    return ProfileFactory(account=profiles[0].account, name="Newcomer")


def test_anonymous_is_sent_to_sign_in(newcomer):
    response = Client().get(ONBOARDING)
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/onboarding/"


def test_signed_in_without_a_chosen_profile_gets_a_403_page(newcomer):
    response = browser(newcomer.account).get(ONBOARDING)
    assert response.status_code == 403
    assert "Choose a profile first" in response.content.decode()  # the reason, in words


def test_the_onboarding_page_shows_a_poster_grid_of_titles_the_profile_may_watch(newcomer, live):
    _profiles, titles, _ = live
    response = browser(newcomer.account, newcomer).get(ONBOARDING)
    assert response.status_code == 200
    html = response.content.decode()
    assert "What do you like, Newcomer?" in html
    assert html.count('name="title_ids"') == 24


def test_picking_three_titles_likes_them_and_goes_home(newcomer, live):
    _profiles, titles, _ = live
    ids = [titles[1].pk, titles[2].pk, titles[3].pk]
    response = browser(newcomer.account, newcomer).post(ONBOARDING, {"title_ids": ids})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert sorted(
        ThumbRating.objects.filter(profile=newcomer, value=1).values_list("title_id", flat=True)
    ) == sorted(ids)
    assert sorted(
        Interaction.objects.filter(profile=newcomer).values_list("title_id", "weight")
    ) == sorted((i, 2.0) for i in ids)


def test_picking_two_is_a_400_with_the_reason_and_keeps_the_picks_checked(newcomer, live):
    _profiles, titles, _ = live
    ids = [titles[1].pk, titles[2].pk]
    response = browser(newcomer.account, newcomer).post(ONBOARDING, {"title_ids": ids})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Pick at least 3 titles you like (got 2)." in html
    assert html.count(" checked>") == 2
    assert ThumbRating.objects.filter(profile=newcomer).count() == 0


def test_garbage_picks_are_a_400(newcomer):
    response = browser(newcomer.account, newcomer).post(ONBOARDING, {"title_ids": ["x"]})
    assert response.status_code == 400
    assert "Those picks are not title ids." in response.content.decode()


def test_staff_sees_the_home_page_as_a_profile(live, staff):
    profiles, _titles, _ = live
    profile = profiles[0]
    response = browser(staff).get(home_as(profile.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Top picks for {profile.name}" in html
    assert "Because you liked " in html


@pytest.mark.parametrize("who", ["anonymous", "owner", "other"])
def test_only_staff_may_see_a_profile_home_page(live, who):
    profiles, _titles, _ = live
    profile = profiles[0]
    client = {
        "anonymous": Client(),
        "owner": browser(profile.account, profile),
        "other": browser(UserFactory(email="someone@example.com")),
    }[who]
    response = client.get(home_as(profile.pk))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_home_as_an_unknown_profile_is_404(live, staff):
    response = browser(staff).get(home_as(999999))
    assert response.status_code == 404
    assert "We couldn't find that page" in response.content.decode()
    assert not response.context.get("rows")  # no rows of anyone's drawn
