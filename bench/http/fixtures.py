"""The bench's data, made through the project's own services (run by bench/http/run.py in a
Django process with the server's settings):

    fixtures.py prepare OUT.json   demo data if missing, bench accounts, tokens, a web session
    fixtures.py release            end the bench accounts' playback leases (between rounds)

Bench accounts are `bench-NNN@streamsite.localhost` on the Premium plan, each with one adult
profile without a PIN: the API endpoints use the first, playback start rotates through all of
them so the plan's stream limit is not what is measured.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "bench-{:03d}@streamsite.localhost"


def _setup() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _account(n: int) -> tuple[Any, Any]:
    from accounts import services as accounts
    from accounts.models import Maturity, Profile, User
    from billing import services as billing
    from billing.gateways.sandbox import SandboxGateway
    from billing.models import Subscription

    user = User.objects.filter(email=EMAIL.format(n)).first()
    if user is None:
        user = User.objects.create_user(EMAIL.format(n), None)
    profile = Profile.objects.filter(account=user).order_by("pk").first()
    if profile is None:
        profile = accounts.profile_create(account=user, name="Bench", maturity=Maturity.ADULTS)
    if not Subscription.objects.filter(account=user).exists():
        card = SandboxGateway().tokenize_card(
            number="4242424242424242", exp_month=12, exp_year=2099, cvc="123"
        )
        billing.subscription_start(
            account=user, plan_code="premium", currency="USD", card_token=card.token, trial=False
        )
    return user, profile


def _web_session(user: Any, profile: Any) -> str:
    """A signed-in browser session with the profile picked, as the login and picker leave it."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.selectors import SESSION_PROFILE, SESSION_PROFILE_PIN_OK

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[SESSION_PROFILE] = profile.pk
    session[SESSION_PROFILE_PIN_OK] = False
    session.create()
    return str(session.session_key)


def prepare(out: Path, accounts: int) -> None:
    from django.conf import settings
    from django.core.management import call_command

    from accounts import services as accounts_services
    from catalog.models import Title
    from catalog.selectors import available_titles
    from media.models import MediaAsset

    if not Title.objects.exists():
        print("  seeding demo data (seed_demo; encodes the demo clips once)", flush=True)
        call_command("seed_demo")
    pairs = [_account(n) for n in range(accounts)]
    tokens = []
    for user, profile in pairs:
        _, plaintext = accounts_services.api_token_create(user=user, name="bench-http")
        tokens.append({"token": plaintext, "profile": profile.pk})
    visible = available_titles(country=settings.DEFAULT_COUNTRY, max_maturity=100)
    detail = visible.order_by("-view_count", "name", "id").first()
    playable = (
        visible.filter(kind=Title.Kind.MOVIE, pk__in=MediaAsset.objects.ready().values("title_id"))
        .order_by("pk")
        .first()
    )
    if detail is None or playable is None:
        sys.exit("no visible title, or no playable movie: seed_demo did not finish (ffmpeg?)")
    names = list(visible.order_by("-view_count", "name").values_list("name", flat=True)[:5])
    prefixes = sorted({n[:k].lower() for n in names for k in range(1, 5) if len(n) >= k})
    user, profile = pairs[0]
    data = {
        "tokens": tokens,
        "session": _web_session(user, profile),
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "detail_title_id": detail.pk,
        "playback_title_id": playable.pk,
        "search_prefixes": prefixes,
    }
    out.write_text(json.dumps(data))
    print(
        f"  {accounts} bench accounts, detail title {detail.pk}, playable title {playable.pk}, "
        f"{len(prefixes)} search prefixes",
        flush=True,
    )


def release() -> None:
    from django.utils import timezone

    from playback.models import PlaybackSession

    PlaybackSession.objects.filter(
        account__email__startswith="bench-", ended_at__isnull=True
    ).update(ended_at=timezone.now(), end_reason="bench")


if __name__ == "__main__":
    _setup()
    if sys.argv[1] == "prepare":
        prepare(Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 300)
    else:
        release()
