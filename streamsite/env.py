"""The one reader of configuration from the environment: strict, and loud about bad values."""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


class Env:
    """Typed access to environment variables.

    Every accessor raises ImproperlyConfigured naming the variable when a value is
    missing (and required) or malformed, so a typo fails start-up instead of silently
    falling back to a default.
    """

    def __init__(self, environ_: Mapping[builtins.str, builtins.str] | None = None) -> None:
        self.environ = os.environ if environ_ is None else environ_

    def _raw(self, name: builtins.str, default: Any) -> Any:
        value = self.environ.get(name)
        if value is None or value == "":
            if default is REQUIRED:
                raise ImproperlyConfigured(f"{name} must be set")
            return default
        return value

    def is_set(self, name: builtins.str) -> bool:
        return bool(self.environ.get(name))

    def str(
        self,
        name: builtins.str,
        default: Any = REQUIRED,
        *,
        prefix: tuple[builtins.str, ...] = (),
    ) -> Any:
        value = self._raw(name, default)
        # The value is not echoed: a key pasted into the wrong variable may be a secret.
        if prefix and value and not value.startswith(prefix):
            raise ImproperlyConfigured(f"{name} must start with {' or '.join(prefix)}")
        return value

    def bool(self, name: builtins.str, default: Any = REQUIRED) -> Any:
        value = self._raw(name, default)
        if isinstance(value, bool) or value is None:
            return value
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfigured(
            f"{name} must be a boolean (one of true/false, yes/no, on/off, 1/0), got {value!r}"
        )

    def int(
        self,
        name: builtins.str,
        default: Any = REQUIRED,
        *,
        min: int | None = None,
        max: int | None = None,
    ) -> Any:
        value = self._raw(name, default)
        if isinstance(value, int) or value is None:
            number = value
        else:
            try:
                number = int(value.strip())
            except ValueError:
                raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
        if number is not None and min is not None and number < min:
            raise ImproperlyConfigured(f"{name} must be at least {min}, got {number}")
        if number is not None and max is not None and number > max:
            raise ImproperlyConfigured(f"{name} must be at most {max}, got {number}")
        return number

    def list(self, name: builtins.str, default: Any = REQUIRED) -> Any:
        value = self._raw(name, default)
        if isinstance(value, list):
            return value
        return [item.strip() for item in value.split(",") if item.strip()]

    def choice(
        self, name: builtins.str, choices: tuple[builtins.str, ...], default: Any = REQUIRED
    ) -> Any:
        value = self._raw(name, default)
        if value not in choices:
            raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def url(
        self,
        name: builtins.str,
        default: Any = REQUIRED,
        *,
        schemes: tuple[builtins.str, ...],
        no_host_hint: builtins.str = "",
    ) -> Any:
        value = self._raw(name, default)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in schemes:
            raise ImproperlyConfigured(
                f"{name} must be a URL with scheme {'/'.join(schemes)}, got {value!r}"
            )
        if (
            parts.scheme not in ("sqlite", "file", "consolemail", "memorymail")
            and not parts.hostname
        ):
            raise ImproperlyConfigured(f"{name} must name a host, got {value!r}{no_host_hint}")
        try:
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            raise ImproperlyConfigured(f"{name} has a malformed port: {value!r}") from None
        return value

    def database(self, name: builtins.str, default: Any) -> dict[builtins.str, Any]:
        """A database URL as Django's DATABASES entry. The host may be a Unix socket's
        directory, percent-encoded as libpq's own URIs take it
        (`postgres://user@%2Fvar%2Frun%2Fpostgresql/name`), which django-environ leaves
        encoded: decoded here, so psycopg is handed the directory, not a host name to resolve."""
        value = self.url(
            name,
            default,
            schemes=("postgres", "postgresql", "sqlite"),
            no_host_hint=" (for a Unix socket, its directory percent-encoded as the host: "
            "postgres://user@%2Fvar%2Frun%2Fpostgresql/name)",
        )
        config = environ.Env.db_url_config(value)
        host = unquote(str(config.get("HOST") or ""))
        if host.startswith("/"):  # a socket's directory; anything else stays as written
            if any(ord(char) < 32 for char in host):
                raise ImproperlyConfigured(
                    f"{name} names a socket directory with a control character: {value!r}"
                )
            config["HOST"] = host
        if config["ENGINE"].endswith("postgresql") and not config.get("NAME"):
            raise ImproperlyConfigured(f"{name} must name a database, got {value!r}")
        return dict(config)

    def email(self, name: builtins.str, default: Any) -> dict[builtins.str, Any]:
        value = self.url(
            name,
            default,
            schemes=("smtp", "smtps", "smtp+tls", "smtp+ssl", "consolemail", "memorymail"),
        )
        return dict(environ.Env.email_url_config(value))
