"""Content negotiation for an API that renders JSON only.

DRF's negotiation parses the Accept header into media types and orders them by precedence on
every request; with one renderer the common answers need none of that. The Accept headers
clients send most (none, `*/*`, exactly the renderer's type) and no `?format=` override are
answered at once with what DRF would choose; everything else (parameters such as `indent`,
lists of types, an unacceptable type, an empty header, which DRF refuses, `?format=`) goes
through DRF's rules unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        if len(renderers) == 1 and not format_suffix:
            renderer = renderers[0]
            accept = request.META.get("HTTP_ACCEPT", "*/*")
            if accept in ("*/*", renderer.media_type) and not request.query_params.get(
                self.settings.URL_FORMAT_OVERRIDE
            ):
                return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)
