"""Settings and folders declared once: the server, the page, the CLI and the README agree with them."""
from __future__ import annotations

from pathlib import Path

import pytest

from adastyle.settings import WEB_PORT, Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_readme_states_the_defaults_of_the_settings() -> None:
    s = Settings()
    text = " ".join(README.split())
    assert f"127.0.0.1:{s.port}" in text and f"127.0.0.1:{WEB_PORT}" in text
    assert f"the queue holds {s.max_queue}" in text
    assert f"{s.max_body >> 20} MiB per request body" in text and f"{s.max_pixels // 1_000_000} Mpx per image" in text
    assert f"{s.queue_pixels // 1_000_000} Mpx of decoded images" in text
    assert f"at most **{s.max_styles_per_request} styles per request**" in text
    assert f"to {s.style_keep_side} px" in text and f"**{s.style_store_bytes >> 20} MB**" in text
    assert f"kept **{s.result_ttl_text} within {s.result_bytes >> 20} MB**" in text
    assert f"within {s.header_timeout:g} s" in text and f"more than {s.body_timeout:g} s" in text
    assert f"at most {s.max_connections} connections" in text
    assert f"{s.page_max_upload >> 20} MB each" in text


def test_remote_use_follows_the_bind_address() -> None:
    assert not Settings().allow_remote and not Settings(host="::1").allow_remote
    assert Settings(host="0.0.0.0").allow_remote
    assert Settings(result_ttl=90).result_ttl_text == "1.5 minutes"


def test_one_config_folder_function_for_every_platform(monkeypatch, tmp_path) -> None:
    """The core's config_dir/cache_dir are the plug-in toolkit's (the plug-ins find the token where the server
    writes it), and that one function has a branch for each platform and for ADASTYLE_HOME."""
    import sys

    import adastyle.config
    import adastyle_plugin.config as pc

    assert adastyle.config.config_dir is pc.config_dir and adastyle.config.cache_dir is pc.cache_dir
    home = tmp_path / "home"
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: home))
    for var in ("ADASTYLE_HOME", "APPDATA", "LOCALAPPDATA", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    cases = {"linux": (home / ".config" / "adastyle", home / ".cache" / "adastyle"),
             "darwin": (home / "Library" / "Application Support" / "adastyle", home / "Library" / "Caches" / "adastyle"),
             "win32": (home / "AppData" / "Roaming" / "adastyle", home / "AppData" / "Local" / "adastyle" / "cache")}
    for platform, (config, cache) in cases.items():
        monkeypatch.setattr(sys, "platform", platform)
        assert (pc.config_dir(), pc.cache_dir()) == (config, cache), platform
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "roaming"))
    assert pc.config_dir() == tmp_path / "roaming" / "adastyle"
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert pc.config_dir() == tmp_path / "xdg" / "adastyle"
    monkeypatch.setenv("ADASTYLE_HOME", str(tmp_path / "portable"))
    for platform in cases:
        monkeypatch.setattr(sys, "platform", platform)
        assert (pc.config_dir(), pc.cache_dir()) == (tmp_path / "portable", tmp_path / "portable" / "cache")
    with pytest.raises(ValueError):
        pc.user_dir("temp")
