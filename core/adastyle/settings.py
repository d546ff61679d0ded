"""The settings of the server and the web page, each declared once here: name, type, default and help.

Why one place: `adastyle serve` and `adastyle web` generate their flags from these fields (a field added
here is a flag there), the server, its job queue and the page read their limits from one `Settings`, and
nothing else states a default. The port the plug-ins look for by default comes from the plug-in toolkit
(`adastyle_plugin.config`, standard library only), which this reuses rather than repeats.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from adastyle_plugin.config import DEFAULT_PORT, LOCAL_HOST

SERVE, WEB = "serve", "web"      # the commands whose flags come from these settings
LOCAL_HOSTS = (LOCAL_HOST, "localhost", "::1")  # binding one of these is local use (no token warning)
WEB_PORT = 7860                  # `adastyle web` alone listens here, beside a server on DEFAULT_PORT


def setting(default: Any, help: str, commands: tuple[str, ...] = (SERVE, WEB), minimum: float | None = 1,
            maximum: float | None = None, defaults: dict[str, Any] | None = None) -> Any:
    """A field of Settings with what its flag needs: `help`, the `commands` that have the flag, the values
    it takes (`minimum`..`maximum`; minimum None: not a number) and a default of its own per command."""
    return field(default=default, metadata={"help": help, "commands": commands, "minimum": minimum,
                                            "maximum": maximum, "defaults": defaults or {}})


@dataclass(frozen=True)
class Settings:
    """Every limit and default of the server and the page; the flags of `serve` and `web` are its fields."""

    host: str = setting(LOCAL_HOST, "bind address (a non-local one needs the token, and warns)",
                        commands=(SERVE,), minimum=None)
    port: int = setting(DEFAULT_PORT, "port to listen on", maximum=65535, defaults={WEB: WEB_PORT})
    device: str = setting("auto", "auto (CUDA, then Apple MPS, then CPU), cpu, cuda, cuda:N or mps", minimum=None)
    max_queue: int = setting(8, "jobs waiting in the queue at most (more: 503 with Retry-After)")
    max_pixels: int = setting(64_000_000, "pixels of one image (and of the working size) at most (413)",
                              commands=(SERVE,))
    max_body: int = setting(256 << 20, "bytes of one request body at most (413); a raw 8000x6000 RGBA canvas is 192 MB")
    max_styles_per_request: int = setting(4, "style images one request (or the page) may use")
    queue_pixels: int = setting(128_000_000, "decoded pixels all queued and running jobs may hold (more: 503)")
    style_keep_side: int = setting(1024, "short side uploaded and native-size styles are reduced to",
                                   commands=(SERVE,))
    style_store_bytes: int = setting(96 << 20, "bytes uploaded styles may hold (least recently used go)",
                                     commands=(SERVE,))
    result_ttl: float = setting(600.0, "seconds a finished result is kept")
    result_bytes: int = setting(256 << 20, "bytes finished results may hold (then the oldest go early)")
    retry_after: int = setting(5, "seconds a busy answer (503) asks the client to wait", commands=(SERVE,))
    header_timeout: float = setting(10.0, "seconds a connection may take to send its request headers "
                                    "(then it is closed)")
    body_timeout: float = setting(30.0, "seconds a request body may stall (408)")
    min_body_rate: int = setting(16384, "bytes/s a request body must arrive at, on average, after its first "
                                 "body-timeout seconds (408)")
    max_connections: int = setting(64, "open connections at most (then the oldest idle one is closed; a quarter "
                                   "are kept for clients with the token)")
    library_max_entries: int = setting(500, "styles and presets a user may add to the library (bundled ones not "
                                       "counted)", commands=(SERVE,))
    library_max_bytes: int = setting(256 << 20, "bytes the styles added to the library may hold on disk",
                                     commands=(SERVE,))
    page_max_pixels: int = setting(36_000_000, "pixels of an image the web page takes (bigger canvases: the "
                                   "plug-ins or the CLI)")
    page_jobs: int = setting(2, "page requests (Stylize, slider releases) decoding images at once; more wait")
    page_max_upload: int = setting(50 << 20, "bytes of one file uploaded to the web page at most (413)")

    @property
    def allow_remote(self) -> bool:
        """A non-local bind address: other machines may connect, so the Host check is off (the token stays)."""
        return self.host not in LOCAL_HOSTS

    @property
    def result_ttl_text(self) -> str:
        """The result time as users read it ("10 minutes", "25 seconds", "1.5 minutes")."""
        if self.result_ttl < 60:
            return f"{self.result_ttl:.0f} second{'s' if round(self.result_ttl) != 1 else ''}"
        return f"{round(self.result_ttl / 60, 1):g} minutes"


def flag_fields(command: str) -> list[Any]:
    """The fields of Settings that are flags of `command`, in declaration order."""
    return [f for f in fields(Settings) if command in f.metadata["commands"]]


def default_for(f: Any, command: str) -> Any:
    """A field's default for `command` (its own one there, else the field's)."""
    return f.metadata["defaults"].get(command, f.default)
