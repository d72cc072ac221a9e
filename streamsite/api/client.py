"""A typed Python client for the Streamsite REST API (httpx; no Django import).

What a third-party player needs: sign in for an API token, list and pick a profile, search the
catalogue, start playback (which hands back the per-session master playlist URL), heartbeat and
stop. Every error is raised as `ApiError` carrying the API's one error shape. The OpenAPI
schema (/api/schema/) is the oracle: tests/streamsite/test_client.py checks every call this
client makes against it, and runs docs/examples/player.py against a live server.

    with StreamsiteClient.sign_in("https://streamsite.example", email, password) as api:
        profile = api.profiles()[0]
        api.use_profile(profile.id)
        title = api.search("long take").results[0]
        session = api.start_playback(title.id)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Self, TypeVar
from uuid import UUID

import httpx

T = TypeVar("T")
API = "/api/v1"


class ApiError(Exception):
    """An answer outside 2xx: `{"error": {"status", "code", "message", "fields"?, ...}}`."""

    def __init__(self, status: int, code: str, message: str, fields: dict[str, list[str]]):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.fields = status, code, message, fields

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            return cls(response.status_code, "http_error", response.text[:200], {})
        return cls(
            int(error.get("status", response.status_code)),
            str(error.get("code", "error")),
            str(error.get("message", "")),
            dict(error.get("fields", {})),
        )


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    prefix: str
    token: str  # the secret: shown once, send it as `Authorization: Bearer <token>`


@dataclass(frozen=True)
class Profile:
    id: int
    name: str
    maturity_label: str
    has_pin: bool
    is_kids: bool = False


@dataclass(frozen=True)
class TitleCard:
    id: int
    slug: str
    name: str
    kind: str
    year: int | None
    maturity_level: int
    genres: list[str]


@dataclass(frozen=True)
class Page(Generic[T]):
    count: int
    results: list[T]
    next: str | None = None
    previous: str | None = None


@dataclass(frozen=True)
class PlaybackSession:
    session_id: UUID
    master_playlist_url: str  # what an HLS player fetches (signed; copy, never build)
    heartbeat_interval_seconds: int
    lease_seconds: int
    resume_position_seconds: float
    duration_seconds: float | None
    max_resolution: int
    media_tokens: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Heartbeat:
    session_id: UUID
    applied: bool  # False when a later heartbeat (higher seq) already arrived
    max_resolution: int
    lease_expires_at: str


class StreamsiteClient:
    """One signed-in API client; acts as one profile once `use_profile` is called."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        profile_id: int | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        self.token = token
        self.profile_id = profile_id
        self.issued: Token | None = None  # the token sign_in created

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- the calls ---------------------------------------------------------------------------

    @classmethod
    def sign_in(
        cls,
        base_url: str,
        email: str,
        password: str,
        *,
        device: str = "streamsite-client",
        code: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> StreamsiteClient:
        """POST /auth/token: a client holding a new API token named `device` (`code` when 2FA
        is on)."""
        client = cls(base_url, timeout=timeout, transport=transport)
        body = {"email": email, "password": password, "name": device}
        if code is not None:
            body["code"] = code
        created = client._call("POST", "/auth/token", json=body)
        client.issued = Token(**{k: created[k] for k in ("id", "name", "prefix", "token")})
        client.token = client.issued.token
        return client

    def profiles(self) -> list[Profile]:
        """GET /profiles: the account's profiles."""
        return [_profile(item) for item in self._call("GET", "/profiles")]

    def use_profile(self, profile_id: int) -> None:
        """Act as this profile from now on (sent as X-Profile-Id)."""
        self.profile_id = profile_id

    def search(self, query: str, *, page: int = 1, page_size: int = 24) -> Page[TitleCard]:
        """GET /titles?q=: titles the profile may watch, best match first."""
        params = {"q": query, "page": page, "page_size": page_size}
        data = self._call("GET", "/titles", params=params)
        return Page(
            count=data["count"],
            next=data.get("next"),
            previous=data.get("previous"),
            results=[_title(item) for item in data["results"]],
        )

    def start_playback(self, title_id: int, *, episode_id: int | None = None) -> PlaybackSession:
        """POST /playback/sessions: claims a stream; the answer names the master playlist."""
        body: dict[str, Any] = {"title_id": title_id, "device": "streamsite-client"}
        if episode_id is not None:
            body["episode_id"] = episode_id
        data = self._call("POST", "/playback/sessions", json=body)
        return PlaybackSession(
            session_id=UUID(data["session_id"]),
            master_playlist_url=data["master_playlist_url"],
            heartbeat_interval_seconds=data["heartbeat_interval_seconds"],
            lease_seconds=data["lease_seconds"],
            resume_position_seconds=data["resume_position_seconds"],
            duration_seconds=data["duration_seconds"],
            max_resolution=data["max_resolution"],
            media_tokens=data["media_tokens"],
        )

    def master_playlist(self, session: PlaybackSession) -> str:
        """The HLS master playlist text at the session's signed URL (what a player fetches)."""
        response = self._http.get(session.master_playlist_url)
        if response.status_code != 200:
            raise ApiError(response.status_code, "playlist", response.text[:200], {})
        return response.text

    def heartbeat(
        self, session_id: UUID, *, seq: int, position: float, state: str = "playing"
    ) -> Heartbeat:
        """POST /playback/sessions/{id}/heartbeat: keeps the lease, saves the position."""
        body = {"seq": seq, "position": position, "state": state}
        data = self._call("POST", f"/playback/sessions/{session_id}/heartbeat", json=body)
        return Heartbeat(
            session_id=UUID(data["session_id"]),
            applied=data["applied"],
            max_resolution=data["max_resolution"],
            lease_expires_at=data["lease_expires_at"],
        )

    def stop(self, session_id: UUID, *, position: float, seq: int | None = None) -> None:
        """POST /playback/sessions/{id}/stop: ends the session and frees its stream."""
        body: dict[str, Any] = {"position": position}
        if seq is not None:
            body["seq"] = seq
        self._call("POST", f"/playback/sessions/{session_id}/stop", json=body)

    # --- plumbing ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers: dict[str, str] = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.profile_id is not None:
            headers["X-Profile-Id"] = str(self.profile_id)
        response = self._http.request(method, API + path, headers=headers, **kwargs)
        if not response.is_success:
            raise ApiError.from_response(response)
        return response.json() if response.content else None


def _profile(item: dict[str, Any]) -> Profile:
    return Profile(
        id=item["id"],
        name=item["name"],
        maturity_label=item["maturity_label"],
        has_pin=item["has_pin"],
        is_kids=bool(item.get("is_kids", False)),
    )


def _title(item: dict[str, Any]) -> TitleCard:
    return TitleCard(
        id=item["id"],
        slug=item["slug"],
        name=item["name"],
        kind=item["kind"],
        year=item["year"],
        maturity_level=item["maturity_level"],
        genres=list(item["genres"]),
    )
