"""Where AdaStyle keeps its files and where the server listens by default, on every platform.

One function decides the folders (config: token, pidfile, log, server.json; cache: downloads and
training data), so the server, the CLI and the plug-ins always agree on where the token is.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

LOCAL_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_URL = f"http://{LOCAL_HOST}:{DEFAULT_PORT}"
SETTINGS_NAME = "adastyle-settings.json"  # beside an installed plug-in: server URL, token file, start command
APP_NAME = "adastyle"


def user_dir(kind: str = "config") -> Path:
    """The user's AdaStyle folder of `kind` ("config" or "cache").

    $ADASTYLE_HOME, when set, holds both (the cache in its `cache` subfolder), e.g. for tests and portable
    installs; otherwise each platform's convention: %APPDATA% / %LOCALAPPDATA% on Windows,
    ~/Library/Application Support / ~/Library/Caches on macOS, $XDG_CONFIG_HOME / $XDG_CACHE_HOME elsewhere.
    """
    if kind not in ("config", "cache"):
        raise ValueError(f"unknown folder kind {kind!r}")
    env = os.environ.get("ADASTYLE_HOME")
    if env:
        return Path(env) if kind == "config" else Path(env) / "cache"
    home = Path.home()
    if sys.platform == "win32":
        if kind == "config":
            return Path(os.environ.get("APPDATA", str(home / "AppData" / "Roaming"))) / APP_NAME
        return Path(os.environ.get("LOCALAPPDATA", str(home / "AppData" / "Local"))) / APP_NAME / "cache"
    if sys.platform == "darwin":
        return home / "Library" / ("Application Support" if kind == "config" else "Caches") / APP_NAME
    if kind == "config":
        return Path(os.environ.get("XDG_CONFIG_HOME", str(home / ".config"))) / APP_NAME
    return Path(os.environ.get("XDG_CACHE_HOME", str(home / ".cache"))) / APP_NAME


def config_dir() -> Path:
    """Token, pidfile, log and server.json."""
    return user_dir("config")


def cache_dir() -> Path:
    """Downloads and built training data (large, re-creatable)."""
    return user_dir("cache")


def read_json(path: Path) -> Dict[str, Any]:
    """A JSON object from a file; {} when it is missing or unreadable (settings are optional)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class ServerConfig:
    """Where the server is, how to prove who we are, and how to start it."""

    url: str
    token: Optional[str]                      # given directly (argument, ADASTYLE_TOKEN, settings file)
    token_files: List[Path] = field(default_factory=list)  # else read from the first of these that exists
    server_command: Optional[List[str]] = None

    def read_token(self) -> str:
        if self.token:
            return self.token
        for path in self.token_files:
            try:
                return path.read_text().strip()
            except OSError:
                continue
        return ""


def find_server(url: Optional[str] = None, token: Optional[str] = None,
                settings_path: Optional[Union[str, Path]] = None) -> ServerConfig:
    """The server to talk to: arguments, then ADASTYLE_URL / ADASTYLE_TOKEN, then the settings file beside
    the plug-in (written by `adastyle install-plugin`), then server.json and the token in the config folder."""
    settings = read_json(Path(settings_path)) if settings_path else {}
    home = config_dir()
    server = read_json(home / "server.json")
    found_url = url or os.environ.get("ADASTYLE_URL") or settings.get("url") or server.get("url") or DEFAULT_URL
    token_files = [Path(settings["token_file"])] if settings.get("token_file") else []
    token_files.append(home / "token")
    return ServerConfig(url=str(found_url).rstrip("/"),
                        token=token or os.environ.get("ADASTYLE_TOKEN") or settings.get("token"),
                        token_files=token_files, server_command=settings.get("server_command"))
