"""The plan picker and the change-plan menu preselect a plan, never a downgrade."""

import re
from datetime import UTC, datetime

import pytest

from billing import selectors, services
from billing.tasks import run_renewals
from tests.billing.conftest import card_token
from tests.clients import browser_client as logged_in

pytestmark = pytest.mark.django_db


def subscribe(account, code, **kwargs):
    services.subscription_start(
        account=account, plan_code=code, currency="USD", card_token=card_token(), **kwargs
    )


def recommended_card(html: str) -> str:
    found = re.findall(r'<article class="plan-card[^"]* recommended"[^>]*>\s*<h2>(\w+)</h2>', html)
    assert len(found) <= 1
    return found[0] if found else ""


def selected_option(html: str) -> str:
    menu = html[html.index('<select id="preview"') :]
    menu = menu[: menu.index("</select>")]
    found = re.findall(r'<option value="([^"]*)"[^>]* selected', menu)
    assert len(found) == 1, menu
    return found[0]


def recommend(sub, currency="USD"):
    plans = list(selectors.plans_available())
    return selectors.plan_recommended(plans=plans, current=sub, currency=currency)


class TestRule:
    def test_no_plan_yet_gets_the_recommended_one(self, settings):
        assert recommend(None).code == "standard"
        settings.BILLING_RECOMMENDED_PLAN = "gone"
        assert recommend(None).code == "basic"  # the first on sale

    @pytest.mark.parametrize(
        "current,expected", [("basic", "standard"), ("standard", "premium"), ("premium", None)]
    )
    def test_a_live_plan_gets_the_next_one_up_never_a_downgrade(
        self, alice, frozen_clock, current, expected
    ):
        subscribe(alice, current, trial=False)
        got = recommend(selectors.subscription_for(alice))
        assert (got.code if got else None) == expected

    def test_an_ended_plan_gets_itself_back(self, alice, frozen_clock):
        subscribe(alice, "premium")
        services.subscription_cancel(account=alice)
        frozen_clock.set(datetime(2026, 2, 1, tzinfo=UTC))
        run_renewals()
        sub = selectors.subscription_for(alice)
        assert sub.status == "expired"
        assert recommend(sub).code == "premium"


class TestPages:
    def test_plan_picker_preselects_standard_for_a_new_account(self, alice):
        html = logged_in(alice).get("/plans/?welcome=1").content.decode()
        assert recommended_card(html) == "Standard"
        assert (
            '<p class="badge badge-recommended" id="recommended-standard">Recommended</p>' in html
        )
        assert '<a class="button" href="/plans/standard/checkout/?currency=USD">' in html
        assert '<a class="button secondary" href="/plans/basic/checkout/?currency=USD">' in html
        assert 'href="/start/">Browse first, choose later</a>' in html

    def test_change_plan_menu_preselects_an_upgrade(self, alice, frozen_clock):
        subscribe(alice, "standard", trial=False)
        html = logged_in(alice).get("/account/billing/").content.decode()
        assert selected_option(html) == "premium"
        assert "Premium (recommended)" in html

    def test_change_plan_menu_on_the_top_plan_preselects_nothing(self, alice, frozen_clock):
        subscribe(alice, "premium", trial=False)
        html = logged_in(alice).get("/account/billing/").content.decode()
        assert selected_option(html) == ""
        assert '<option value="" selected disabled>Choose a plan</option>' in html
