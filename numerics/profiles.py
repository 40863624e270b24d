"""Profiles: one notion of scale shared by the CLI, notebooks and tests.

``ci`` runs in minutes on 2 CPU cores; ``full`` is the paper's scale; ``gpu`` is the largest that
fits a lent GPU session. A profile changes sizes and steps, never the code path. The environment
variable ``ADVLANDSCAPE_PROFILE`` selects it (default ``ci``).
"""

from __future__ import annotations

import os

from theory.errors import ConfigError

__all__ = ["ENV_VAR", "PROFILES", "current_profile"]

PROFILES = ("ci", "full", "gpu")
ENV_VAR = "ADVLANDSCAPE_PROFILE"


def current_profile(explicit: str | None = None) -> str:
    """Return the profile named explicitly, else by ``$ADVLANDSCAPE_PROFILE``, else ``ci``."""
    name = explicit if explicit is not None else os.environ.get(ENV_VAR, "ci")
    name = name.strip().lower()
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r} (from {ENV_VAR}?): use one of {PROFILES}")
    return name
