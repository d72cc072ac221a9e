"""Page caching for catalogue views: a decorator, so the views themselves stay as they are.

`shared_partial` caches the HTML fragment a page sends back for `?partial=1` (search as you
type): it depends only on the query string and on what the viewer may see (country,
maturity, language), never on who they are, so it is shared through catalog.caching and
revalidated with its ETag. Full pages carry the viewer's own header and rows: the signed-in
home page is cached whole per profile (catalog.home_cache); the others are not, and their
shared shelves are cached one level down, in the selectors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from catalog.caching import Uncacheable, cached_fragment
from catalog.selectors.viewer import request_viewer
from streamsite.conditional import CachedBody, cached_body, respond

View = Callable[..., HttpResponse]


def shared_partial(view: View) -> Callable[..., HttpResponseBase]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method != "GET" or not request.GET.get("partial"):
            return view(request, *args, **kwargs)

        def build() -> CachedBody:
            response = view(request, *args, **kwargs)
            if response.status_code != 200 or response.streaming or response.cookies:
                raise Uncacheable(response)
            return cached_body(response.content, response["Content-Type"])

        parts = ("partial", view.__qualname__, request.get_host(), request.get_full_path())
        got = cached_fragment("page", request_viewer(request), parts, build)
        if isinstance(got, HttpResponseBase):
            return got
        return respond(request, got, vary="Cookie")

    return wrapper
