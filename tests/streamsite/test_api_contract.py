"""The OpenAPI schema is the contract: schemathesis sends every operation valid and invalid
requests, as a subscribed viewer and as staff, and follows the schema's links from create to
read/update/delete. Every check is on; no server error, no answer the schema does not describe
(issue 16, item 2)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import hypothesis
import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.config import SchemathesisConfig

from accounts import services as account_services
from streamsite.wsgi import application
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wsgi_in_process")]

# Bounded so the suite stays within CI's budget: every operation still gets its coverage phase
# (each documented boundary value and each way to break it) plus this many random examples.
MAX_EXAMPLES = 5
STATEFUL_STEPS = 30
STATEFUL_RUNS = 8

GENERATION = {
    "mode": "all",
    "max-examples": MAX_EXAMPLES,
    "deterministic": True,
    "no-shrink": True,
    # HTTP lets clients and proxies add headers and query parameters; the API ignores
    # those it does not name, as the schema (which cannot close them) allows.
    "allow-extra-parameters": False,
    # NUL is refused in every text by the input boundary (documented under 400, tested
    # by test_hostile_operations); valid data here is text without it.
    "allow-x00": False,
    # Credentials are the roles' own (fresh per example), not generated.
    "with-security-parameters": False,
    "database": "none",
}

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 16,
        "generation": GENERATION,
        "checks": {"enabled": True},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            # The stateful phase reads its own generation settings: the same ones.
            "stateful": {"enabled": True, "generation": GENERATION},
        },
        "suppress-health-check": ["all"],
        # Schema-valid input these operations refuse by a rule no schema can state (each says
        # which); 400 with a field error is their documented answer.
        "operations": [
            {
                "include-operation-id": [
                    "auth_verify_create",  # a link token that does not verify
                    "auth_password_reset_confirm_create",
                    "auth_signup_create",  # Django's password validators
                    "me_destroy",  # the account's password is wrong
                    "cdn_steer_create",  # client_ip is no IP address
                    "billing_payment_methods_create",  # an unknown card token
                    "billing_sandbox_tokens_create",  # a card number failing its check digit
                    "billing_subscription_create",  # an unknown plan or coupon
                    "billing_subscription_change_create",
                    "billing_subscription_preview_retrieve",
                    "billing_subscription_resume_create",  # not set to cancel
                    "media_assets_create",  # an unknown title
                    "playback_sessions_create",  # profile_id and X-Profile-Id disagree
                    "recommendations_onboarding_create",  # fewer than 3 titles that exist
                    "tokens_create",  # expires_at outside 1970..2099 (no schema bounds a date)
                    "auth_token_create",
                    "billing_webhooks_create",  # a signature that does not match
                    "titles_list",  # year_to before year_from
                    "titles_facets_retrieve",
                ],
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "429"]
                    }
                },
            }
        ],
    }
)

schema = schemathesis.openapi.from_dict(
    SchemaGenerator().get_schema(request=None, public=True), config=CONFIG
)
schema.app = application


def _caller(role: str) -> dict[str, str]:
    """Fresh credentials for each example, so a destructive operation (delete my account,
    revoke my tokens) only ever acts on the caller's own objects and spoils no later example."""
    from tests.playback.sessions.conftest import subscribe

    staff = role == "staff"
    user = UserFactory(email=f"{role}-{uuid.uuid4().hex}@example.com", is_staff=staff)
    profile = account_services.profile_create(account=user, name=role.title())
    subscribe(user)
    _, plaintext = account_services.api_token_create(user=user, name="contract")
    return {"Authorization": f"Bearer {plaintext}", "X-Profile-Id": str(profile.pk)}


@pytest.fixture(params=["viewer", "staff"])
def role(request):
    return request.param


def _headers(case: Any, role: str) -> dict[str, str]:
    """The caller's credentials and profile; a generated X-Profile-Id that is not an integer
    (negative data) is sent as generated."""
    headers = _caller(role)
    if not _is_profile_id((case.headers or {}).get("X-Profile-Id")):
        del headers["X-Profile-Id"]
    return headers


def _is_profile_id(generated: Any) -> bool:
    """None, or an integer the boundary takes (then the caller's own profile is sent)."""
    if generated is None:
        return True
    text = str(generated).strip()
    return bool(re.fullmatch(r"[+-]?[0-9]{1,19}", text)) and -(2**63) <= int(text) < 2**63


@schema.parametrize()
def test_every_operation_keeps_the_contract(case, role):
    case.call_and_validate(headers=_headers(case, role))


def test_links_from_create_to_read_update_delete_keep_the_contract(db, role):
    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.headers = _caller(role)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            # The role's own token is the credential: a generated one is not sent.
            if case.headers:
                case.headers.pop("Authorization", None)
            headers = dict(self.headers)
            if not _is_profile_id((case.headers or {}).get("X-Profile-Id")):
                del headers["X-Profile-Id"]
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):  # type: ignore[no-untyped-def]
            # The headers sent are the caller's own (explicit), not generated credentials.
            case.validate_response(
                response,
                additional_checks=additional_checks,
                headers=kwargs.get("headers"),
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    run_state_machine_as_test(
        Workflow,
        settings=hypothesis.settings(
            max_examples=STATEFUL_RUNS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(hypothesis.HealthCheck),
        ),
    )
