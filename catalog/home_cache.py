"""The signed-in home page, rendered once per profile and served from the cache until something
it shows changes.

No part of a signed-in home page is shared between profiles: its editorial rows are deduped
against the profile's own (`home_rows_assemble`), so the page is cached whole, per profile,
with the version stamps of everything it shows stored beside it (and a copy kept in the
process that stored or served it: when its stamp still holds, only the stamps are read). One
cache round trip reads the page and every stamp together: the page key and the stamp keys
ride along with the request's first read of the shared counters
(`HomePageRidersMiddleware`, before the language middleware makes that read;
streamsite.shared_counters), which also brings the catalogue version and the session itself
(accounts.session_store). The session is not read yet then,
so the keys are those of the account and profile the session named on its last home page in
this process (a hint; a first visit, or a switched profile, costs a second round trip). A
stored page is served only when its stamp equals the stamp read now.

The key (`page_key`): the account, the profile (both from the session) and the host (links
are relative, but the host is cheap to add and keeps a site served under two names apart).
The stamp, compared on every hit, is what else the page depends on:

- the catalogue version (catalog.caching): titles, availability, artwork, genres, popularity;
- the language the request is answered in, and the viewer's country and maturity ceiling;
- the header: the account's e-mail and staff flag (the Admin link), the profile's name,
  avatar, kids flag, maturity and language. Read from the request's own user and profile
  (both remembered under the auth epoch, which a save of either moves:
  accounts.middleware.session_user, accounts.token_cache), so an edit shows at once without a
  stamp of its own;
- the profile's activity stamp (`activity_key`): Continue Watching, My List and thumbs.
  Playback bumps it in every service that writes them (`activity_changed`), once the
  writing transaction commits, as the catalogue version is bumped;
- the values of the keys CATALOG_HOME_STAMP_PROVIDER names for the profile (recommendations:
  the profile's rows entry and the live model version), digested: recomputed rows, a refold
  that drops them, or a promoted model each change the stamp.

A stamp with any of those values absent (the cache lost it, or it was never written) is not
stored: the next request, which finds them, stores the page. Otherwise "absent" could match
"absent" after a change that deleted a key. A page also expires with the catalogue's shared
fragments (catalog.caching.fragment_ttl: CATALOG_CACHE_SECONDS, or the next licensing window
that opens or closes), which bounds what no write announces: a video that becomes playable
(the hero's Play button asks the media pipeline, which bumps nothing).

The CSRF token: the logout form carries one, and it is per browser, not per profile, so the
page is rendered and stored with a placeholder and the request's own token (`get_token`,
which also keeps CSRF's cookie logic running: the cookie is set or renewed as for any page)
is put in when it is served. The ETag is the stored page's, mixed with a digest of the
browser's CSRF secret: a browser revalidating a copy whose token another secret masked gets
the page again, not a 304.

Never stored: a page that shows messages (django.contrib.messages; they are for one response),
a response that is not a 200 or sets cookies, a request without a profile (the account-wide
page of a signed-in account with none picked, a PIN-locked profile not unlocked), and anything
while the cache is away (the catalogue version unknown): then the page is rendered as before.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe

from accounts.selectors import SESSION_PROFILE
from catalog.caching import catalog_version, fragment_ttl
from catalog.selectors.viewer import Viewer, request_viewer
from streamsite import shared_counters
from streamsite.conditional import CachedBody, cached_body, respond
from streamsite.db.transactions import KeyedCommitHook

# What the page is rendered with in place of the CSRF token. Escaping turns any "<" that comes
# from data into "&lt;", so only the csrf_token tag (this value is marked safe) can write it.
CSRF_PLACEHOLDER = "<csrf-token-placeholder>"
_PLACEHOLDER = CSRF_PLACEHOLDER.encode()

Render = Callable[[dict[str, Any]], HttpResponse]


def page_key(user_id: int | str, profile_id: int | str, host: str) -> str:
    host_digest = hashlib.sha256(host.encode()).hexdigest()[:16]
    return f"catalog:home:page:{user_id}:{profile_id}:{host_digest}"


def activity_key(profile_id: int) -> str:
    return f"catalog:home:activity:{profile_id}"


def _first_stamp() -> int:
    """A stamp starts from the clock, so one that the cache lost and started again never
    equals a value a stored page carries."""
    return time.time_ns() // 1000


def _bump_activity(profile_id: int) -> None:
    key = activity_key(profile_id)
    try:
        cache.incr(key)
    except ValueError:  # no stamp yet (or the cache is down): start one
        cache.add(key, _first_stamp(), timeout=None)


def _bump_activities(profile_ids: frozenset[Any]) -> None:
    for profile_id in profile_ids:
        _bump_activity(profile_id)
    shared_counters.forget()  # what this request read before the bump is not the stamp now


_bump_on_commit = KeyedCommitHook(_bump_activities)


def activity_changed(profile_id: int) -> None:
    """The profile's Continue Watching, My List or thumbs changed: its cached home page is
    stale. Inside a transaction of the program's the stamp is bumped once it commits (no cache
    call inside it; until then this thread serves the profile's home page uncached); a reader
    elsewhere, who cannot see the uncommitted rows, may store the old page under the old
    stamp, which the bump retires. Outside a transaction, bumped at once."""
    if not _bump_on_commit.announce(profile_id):
        _bump_activity(profile_id)


def _provided_keys(profile_id: int) -> list[str]:
    """The cache keys CATALOG_HOME_STAMP_PROVIDER (fn(profile_id) -> keys) names."""
    dotted = getattr(settings, "CATALOG_HOME_STAMP_PROVIDER", "")
    return list(import_string(dotted)(profile_id)) if dotted else []


def stamp_keys(profile_id: int) -> list[str]:
    return [activity_key(profile_id), *_provided_keys(profile_id)]


# --- riding along with the request's first read -------------------------------------------
_home_path: list[str] = []


def _is_home(request: HttpRequest) -> bool:
    if not _home_path:
        _home_path.append(reverse("home"))
    return request.method == "GET" and request.path_info == _home_path[0]


# Per process: a digest of a session cookie -> the (account id, profile id) its session named
# on its last home page. A hint, so that the page's keys can ride with the request's first
# read of the shared counters, which is the session's own read (accounts.session_store).
_named: dict[str, tuple[str, int]] = {}


def _cookie_digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()[:32]


def _session_names(request: HttpRequest) -> tuple[str, int] | None:
    session = getattr(request, "session", None)
    if session is None:
        return None
    user_id, profile_id = session.get(SESSION_KEY), session.get(SESSION_PROFILE)
    if user_id is None or profile_id is None:
        return None
    return str(user_id), int(profile_id)


def prefetch(request: HttpRequest) -> None:
    """Have the page and its stamps read with the request's shared counters: for the account
    and profile this session named last time in this process, else the ones it names now (a
    hint either way: `serve` uses them only for the request's own)."""
    if not settings.CATALOG_CACHE_SECONDS or not _is_home(request):
        return
    cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not cookie or getattr(request, "session", None) is None:
        return
    named = _named.get(_cookie_digest(cookie)) or _session_names(request)
    if named is None:
        return
    key = page_key(named[0], named[1], request.get_host())
    if _local_page(key) is None:  # a copy here: only the stamps are read to check it
        shared_counters.also_get([key])
    shared_counters.also_get(stamp_keys(named[1]))


def _remember_names(request: HttpRequest) -> None:
    """What the session named this time (loaded by now), for the next request's `prefetch`."""
    cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not cookie or not settings.CATALOG_CACHE_SECONDS or not _is_home(request):
        return
    digest, named = _cookie_digest(cookie), _session_names(request)
    if named is None:
        _named.pop(digest, None)
    elif _named.get(digest) != named:
        if len(_named) >= 10_000:
            _named.clear()
        _named[digest] = named


class HomePageRidersMiddleware:
    """`prefetch` for the home page; before the first middleware that reads a shared counter."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        prefetch(request)
        response = self.get_response(request)
        _remember_names(request)
        return response


# --- this process's copies -----------------------------------------------------------------
# Per process: page key -> (stamp, page, until): the pages this process stored or served. One
# whose stamp equals the stamp read now is served without reading the page (about 20 KB) from
# the cache again: the stamp is what decides, wherever the copy is kept, and `until` is the
# stored page's own expiry (the catalogue fragments' lifetime).
_local: dict[str, tuple[list[Any], CachedBody, float]] = {}
LOCAL_PAGES = 500


def _local_page(key: str) -> tuple[list[Any], CachedBody, float] | None:
    found = _local.get(key)
    if found is None or found[2] <= time.time():
        return None
    return found


def _keep_local(key: str, stamp: list[Any], body: CachedBody, until: float) -> None:
    if len(_local) >= LOCAL_PAGES:
        _local.clear()
    _local[key] = (stamp, body, until)


def forget_local_pages() -> None:
    """Drop this process's copies (tests)."""
    _local.clear()


# --- serving --------------------------------------------------------------------------------
def _digest(value: Any) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:24]


def _header(request: HttpRequest, viewer: Viewer) -> tuple[Any, ...]:
    """What the page's header and kids styling show of the account and the profile."""
    user: Any = request.user
    profile: Any = viewer.profile
    image = getattr(profile.avatar_image, "name", "") if profile.avatar_image else ""
    return (
        user.pk,
        user.email,
        bool(user.is_staff),
        profile.pk,
        profile.name,
        profile.avatar,
        image,
        bool(profile.is_kids),
        int(profile.maturity),
        profile.language,
    )


def _stamp(
    request: HttpRequest, viewer: Viewer, version: int, got: dict[str, Any], keys: list[str]
) -> list[Any] | None:
    """The page's stamp now; None when a value it needs is absent (nothing to compare with)."""
    values = [got.get(k) for k in keys]
    if any(v is None for v in values):
        return None
    return [
        version,
        translation.get_language() or "",
        viewer.country,
        viewer.max_maturity,
        _header(request, viewer),
        values[0],  # the activity stamp
        _digest(values[1:]),
    ]


def _has_messages(request: HttpRequest) -> bool:
    """Messages waiting for this request (counted, not consumed: the page shows them)."""
    return len(get_messages(request)) > 0  # type: ignore[arg-type]


def _storable(request: HttpRequest, response: HttpResponse) -> bool:
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not _has_messages(request)
    )


def _with_token(request: HttpRequest, entry: CachedBody) -> HttpResponse:
    """The stored page with this request's CSRF token, or a 304 when the browser has it."""
    token = get_token(request)  # sets or renews the CSRF cookie, as rendering would
    secret = request.META.get("CSRF_COOKIE", "")
    etag = f'"{_digest((entry.etag, secret))}"'
    filled = CachedBody(
        body=entry.body.replace(_PLACEHOLDER, token.encode()),
        content_type=entry.content_type,
        etag=etag,
    )
    return respond(request, filled, vary="Cookie")


def _ensure_activity_stamp(profile_id: int, got: dict[str, Any]) -> None:
    """Start the profile's activity stamp when the cache has none, so the next request can
    store its page (an absent stamp is never stored)."""
    key = activity_key(profile_id)
    if got.get(key) is None:
        cache.add(key, _first_stamp(), timeout=None)


def serve(request: HttpRequest, render: Render) -> HttpResponseBase:
    """The signed-in home page: the stored one when its stamp still holds, else rendered by
    `render(extra_context)` (and stored when it may be)."""
    if not settings.CATALOG_CACHE_SECONDS or request.method != "GET":
        return render({})
    viewer = request_viewer(request)
    profile = viewer.profile
    if profile is None or _has_messages(request) or _bump_on_commit.waiting(profile.pk):
        return render({})
    version = catalog_version()  # the request's snapshot of the shared counters
    if version is None:  # the cache is away
        return render({})
    key = page_key(profile.account_id, profile.pk, request.get_host())
    keys = stamp_keys(profile.pk)
    got = shared_counters.get_many(keys)
    stamp = _stamp(request, viewer, version, got, keys)
    local = _local_page(key) if stamp is not None else None
    if local is not None and local[0] == stamp:
        return _with_token(request, local[1])
    hit = shared_counters.get_many([key]).get(key)  # rode along unless a copy was here
    if stamp is not None and isinstance(hit, dict) and hit.get("stamp") == stamp:
        if isinstance(hit.get("until"), float):
            _keep_local(key, stamp, hit["body"], hit["until"])
        return _with_token(request, hit["body"])
    response = render({"csrf_token": mark_safe(CSRF_PLACEHOLDER)})  # noqa: S308 - a constant
    if not _storable(request, response):
        response.content = response.content.replace(_PLACEHOLDER, get_token(request).encode())
        return response
    entry = cached_body(response.content, response["Content-Type"])
    if stamp is not None:
        ttl = fragment_ttl()
        until = time.time() + ttl
        cache.set(key, {"stamp": stamp, "body": entry, "until": until}, timeout=ttl)
        _keep_local(key, stamp, entry, until)
    else:
        _ensure_activity_stamp(profile.pk, got)
    return _with_token(request, entry)
