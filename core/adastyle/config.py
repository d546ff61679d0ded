"""Where AdaStyle keeps its files: config (token, pidfile, log, settings) and caches.

The config folder logic lives in client.py (which must stay standard-library only, for the
plug-ins); it is re-exported here for the server and the CLI.
"""
from __future__ import annotations

import os
from pathlib import Path

from adastyle.client import config_dir

__all__ = ["config_dir", "cache_dir"]


def cache_dir() -> Path:
    """Downloads and built training data (large, re-creatable)."""
    env = os.environ.get("ADASTYLE_HOME")
    if env:
        return Path(env) / "cache"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "adastyle"
