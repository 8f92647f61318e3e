"""Reading the environment strictly: a value that is present but malformed stops the process
with a message naming the variable, instead of quietly becoming false or a default
(django-environ reads DJANGO_DEBUG=maybe as false). A blank value means the default, as a
blank line in .env would suggest."""

from __future__ import annotations

import os
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


class StrictEnv(environ.Env):
    def _raw(self, var: str, default: Any) -> str | None:
        raw = os.environ.get(var)
        if raw is None or not raw.strip():
            if default is environ.Env.NOTSET:
                raise ImproperlyConfigured(f"Set the {var} environment variable.")
            return None
        return raw.strip()

    def bool(self, var: str, default: Any = environ.Env.NOTSET) -> bool:  # type: ignore[override]
        raw = self._raw(var, default)
        if raw is None:
            return default
        word = raw.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ImproperlyConfigured(
            f"{var}={raw!r} is not a boolean: use true or false (or 1/0, yes/no, on/off)."
        )

    def int(self, var: str, default: Any = environ.Env.NOTSET) -> int:  # type: ignore[override]
        raw = self._raw(var, default)
        if raw is None:
            return default
        try:
            return int(raw.replace("_", ""))
        except ValueError:
            raise ImproperlyConfigured(f"{var}={raw!r} is not a whole number.") from None

    def float(self, var: str, default: Any = environ.Env.NOTSET) -> float:  # type: ignore[override]
        raw = self._raw(var, default)
        if raw is None:
            return default
        try:
            return float(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{var}={raw!r} is not a number.") from None
