"""The first five minutes: picking a profile leads an account without a plan to the plan
picker, a new profile to onboarding, then home; refusal pages say why and how to fix it."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.selectors import SESSION_PROFILE
from billing import services
from playback.services import activity
from tests.billing.conftest import card_token
from tests.catalog.factories import TitleFactory
from tests.catalog.test_viewer_pages import signed_in
from tests.playback.sessions.conftest import write_fake_asset

pytestmark = pytest.mark.django_db


def subscribe(account):
    services.subscription_start(
        account=account, plan_code="basic", currency="USD", card_token=card_token()
    )


class TestFirstSteps:
    def test_picking_a_profile_leads_to_the_first_steps(self, alice, alice_profile):
        client = Client()
        client.force_login(alice)
        response = client.post(f"/profiles/{alice_profile.pk}/switch/", {"next": ""})
        assert response["Location"] == "/start/"

    def test_no_plan_then_onboarding_then_home_each_offered_once(self, alice, alice_profile):
        client = signed_in(alice, alice_profile)
        assert client.get("/start/")["Location"] == "/plans/?welcome=1"
        # "Browse first, choose later": the plans are not offered again this session.
        assert client.get("/start/")["Location"] == "/onboarding/"
        assert client.get("/start/")["Location"] == "/"

    def test_a_subscribed_account_with_a_new_profile_goes_to_onboarding(self, alice, alice_profile):
        subscribe(alice)
        assert signed_in(alice, alice_profile).get("/start/")["Location"] == "/onboarding/"

    def test_a_profile_with_likes_goes_home(self, alice, alice_profile):
        subscribe(alice)
        activity.rate(profile=alice_profile, title=TitleFactory(), value=1)
        assert signed_in(alice, alice_profile).get("/start/")["Location"] == "/"

    def test_onboarding_a_second_profile_is_offered_for_that_profile(
        self, alice, alice_profile, alice_kid
    ):
        subscribe(alice)
        client = signed_in(alice, alice_profile)
        assert client.get("/start/")["Location"] == "/onboarding/"
        assert client.get("/start/")["Location"] == "/"  # skipped: not asked again
        session = client.session  # the same browser switches to the kid's profile
        session[SESSION_PROFILE] = alice_kid.pk
        session.save()
        assert client.get("/start/")["Location"] == "/onboarding/"

    def test_without_a_profile_or_signed_out(self, client, alice):
        assert client.get("/start/")["Location"] == "/"
        client.force_login(alice)
        assert client.get("/start/")["Location"] == "/profiles/"

    def test_onboarding_offers_a_way_out(self, alice, alice_profile):
        TitleFactory()
        html = signed_in(alice, alice_profile).get("/onboarding/").content.decode()
        assert '<a class="recs-skip" href="/">Skip for now</a>' in html


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


class TestRefusalPages:
    def test_no_plan_names_the_reason_and_offers_the_plans(self, alice, alice_profile, media_root):
        title = TitleFactory()
        write_fake_asset(media_root, f"title-{title.pk}")
        response = signed_in(alice, alice_profile).get(f"/watch/{title.pk}/")
        html = response.content.decode()
        assert response.status_code == 403
        assert "<h1>Your plan does not let you watch right now</h1>" in html
        assert "<p>Choose a plan to start watching.</p>" in html
        assert '<a class="button" href="/plans/">Choose a plan</a>' in html
        assert "<h1>403</h1>" not in html

    def test_a_title_above_the_profiles_maturity_offers_to_switch_profile(
        self, alice, alice_kid, media_root
    ):
        subscribe(alice)
        title = TitleFactory(name="Night Shift", rating="R")
        write_fake_asset(media_root, f"title-{title.pk}")
        response = signed_in(alice, alice_kid).get(f"/watch/{title.pk}/")
        html = response.content.decode()
        assert response.status_code == 403
        assert "<h1>This title is not for this profile</h1>" in html
        assert '<a class="button" href="/profiles/">Switch profile</a>' in html
