"""Where AdaStyle keeps its files: config (token, pidfile, log, settings) and caches.

The folder logic lives in the plug-in toolkit (standard library only), so that the server, the CLI
and the plug-ins agree on every platform; the core imports it from there.
"""
from __future__ import annotations

from adastyle_plugin.config import cache_dir, config_dir

__all__ = ["config_dir", "cache_dir"]
