"""Playback fixtures: profiles of alice (two) and bob, a title with a fake three-rung HLS
ladder on disk (no ffmpeg needed), API clients acting as a profile."""

import importlib
from pathlib import Path

import pytest

from accounts.selectors import SESSION_PROFILE, SESSION_PROFILE_PIN_OK
from billing import services as billing_services
from playback import ports
from tests.billing.conftest import card_token
from tests.clients import api_client as client_for
from tests.playback.sessions.factories import ProfileFactory, TitleFactory

LADDER = (
    ("360p", "640x360", 800_000),
    ("720p", "1280x720", 2_500_000),
    ("1080p", "1920x1080", 5_000_000),
)


def write_fake_asset(media_root: Path, key: str) -> Path:
    """A local asset `key` under `media_root` (MEDIA_ROOT): hls/<key>/local/."""
    folder = media_root / "hls" / key / ports.LOCAL_VERSION
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    for name, resolution, bandwidth in LADDER:
        lines += [
            f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={resolution},CODECS="avc1.64001f"',
            f"{name}/index.m3u8",
        ]
        (folder / name).mkdir(exist_ok=True)
        (folder / name / "index.m3u8").write_text("#EXTM3U\n#EXT-X-ENDLIST\n")
        (folder / name / "seg_000.ts").write_bytes(bytes(range(256)) * 4)
    (folder / "master.m3u8").write_text("\n".join(lines) + "\n")
    (folder / "asset.json").write_text(
        '{"duration": 600, "markers": {"intro_start": 5, "intro_end": 35, "credits_start": 570}}'
    )
    return folder


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


def ensure_plans() -> None:
    """Transactional tests flush the plans billing's data migration seeded: seed them again."""
    from django.apps import apps

    from billing.models import Plan

    if not Plan.objects.exists():
        importlib.import_module("billing.migrations.0002_seed_plans").seed(apps, None)


def subscribe(account, plan_code="standard"):
    """A real billing subscription (trialing): standard = 2 streams up to 1080p."""
    ensure_plans()
    return billing_services.subscription_start(
        account=account, plan_code=plan_code, currency="USD", card_token=card_token()
    )


@pytest.fixture
def alice_plan():
    """alice's billing plan; override in a module or class (None: no subscription)."""
    return "standard"


@pytest.fixture(autouse=True)
def subscribed(alice, bob, alice_plan):
    """alice and bob pay for a plan (Standard), so playback is allowed unless a test says not."""
    if alice_plan is not None:
        subscribe(alice, alice_plan)
    subscribe(bob)


@pytest.fixture
def alice_profile(alice):
    return ProfileFactory(account=alice, name="Alice")


@pytest.fixture
def alice_kid(alice):
    return ProfileFactory(account=alice, name="Kid", maturity=10, is_kids=True)


@pytest.fixture
def bob_profile(bob):
    return ProfileFactory(account=bob, name="Bob")


@pytest.fixture
def movie(media_root):
    title = TitleFactory(name="The Long Take", slug="the-long-take")
    write_fake_asset(media_root, f"title-{title.pk}")
    return title


@pytest.fixture
def alice_client(alice, alice_profile):
    return client_for(alice, alice_profile)


@pytest.fixture
def limit(monkeypatch):
    """Set the plan's stream limit (and resolution cap) through the entitlements port."""

    def apply(max_streams=2, max_resolution=1080, can_stream=True, reason=""):
        monkeypatch.setattr(
            ports,
            "get_entitlements",
            lambda account: ports.Entitlements(
                can_stream=can_stream,
                max_streams=max_streams,
                max_resolution=max_resolution,
                max_profiles=5,
                plan_code="test",
                status="active" if can_stream else "past_due",
                reason=reason,
            ),
        )

    return apply


def pick_profile(client, profile, user=None):
    """A browser client (signed in as `user`, if given) that chose `profile` on the
    "Who's watching?" page."""
    if user is not None:
        client.force_login(user)
    session = client.session
    session[SESSION_PROFILE] = profile.pk
    session[SESSION_PROFILE_PIN_OK] = False
    session.save()
    return client
