"""DRF throttles that key anonymous clients by the real client address (TRUSTED_PROXIES)."""

from __future__ import annotations

from typing import Any

from rest_framework import throttling

from streamsite.client_address import client_address


class AnonRateThrottle(throttling.AnonRateThrottle):
    def get_ident(self, request: Any) -> str:
        return client_address(request)


class UserRateThrottle(throttling.UserRateThrottle):
    def get_ident(self, request: Any) -> str:
        return client_address(request)
