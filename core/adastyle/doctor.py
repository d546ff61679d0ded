"""`adastyle doctor`: what this machine has, in plain words, and the exact command for what is missing.

Why: the questions of a first hour (which device will it use and why not the GPU, is the server up, did
the plug-in land where GIMP/Krita look) otherwise take a dozen commands and some knowledge of each host.
Each check is cheap: nothing loads the model, nothing is written.
"""
from __future__ import annotations

import importlib.util
import os
import platform
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from adastyle import __version__, hosts

MARKS = {"ok": "ok ", "info": " - ", "warn": "!! "}


@dataclass(frozen=True)
class Finding:
    """One line of the report: a state (ok / info / warn), the topic and what was found."""

    state: str
    topic: str
    text: str


def check_python() -> list[Finding]:
    v = sys.version_info
    state = "ok" if v >= (3, 10) else "warn"
    return [Finding(state, "Python", f"{platform.python_version()} at {sys.executable}"
                    + ("" if state == "ok" else " (AdaStyle needs 3.10 or newer)"))]


def check_torch() -> list[Finding]:
    """PyTorch, its build, and the device `--device auto` picks, with the reason when it is not a GPU."""
    try:
        import torch
    except ImportError:
        return [Finding("warn", "PyTorch", "not installed: pip install torch torchvision (see README, Install)")]
    from adastyle.device import fast_dtype, mps_available, pick_device, why_not_cuda, why_not_mps

    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only build"
    found = [Finding("ok", "PyTorch", f"{torch.__version__} ({build})")]
    device = pick_device("auto")
    dtype = str(fast_dtype(device)).replace("torch.", "")
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        found.append(Finding("ok", "Device", f"cuda ({name}), computing in {dtype}"))
        return found
    if device.type == "mps":
        found.append(Finding("ok", "Device", f"mps (Apple GPU), computing in {dtype}"))
        return found
    found.append(Finding("ok", "Device", f"cpu ({os.cpu_count()} cores), computing in {dtype}"))
    found.append(Finding("info", "No CUDA", why_not_cuda()))
    if sys.platform == "darwin" and not mps_available():
        found.append(Finding("info", "No MPS", why_not_mps()))
    return found


def check_weights() -> list[Finding]:
    from importlib import resources

    folder = Path(str(resources.files("adastyle") / "weights"))
    found = []
    for name, role in (("vgg19_relu4_1.safetensors", "encoder"), ("decoder.safetensors", "decoder")):
        path = folder / name
        if path.is_file() and path.stat().st_size > 1 << 20:
            found.append(Finding("ok", "Weights", f"{role} {path} ({path.stat().st_size / 1e6:.1f} MB)"))
        else:
            found.append(Finding("warn", "Weights", f"{role} missing or truncated at {path}: reinstall AdaStyle"))
    return found


def check_extras() -> list[Finding]:
    """The optional parts: the server (FastAPI, uvicorn) and the web page (Gradio)."""
    found = []
    for label, modules, extra in (("Server", ("fastapi", "uvicorn", "multipart"), "server"),
                                  ("Web page", ("gradio",), "web")):
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        if missing:
            found.append(Finding("warn", label, f"not installed ({', '.join(missing)} missing): "
                                                f"pip install \"adastyle[{extra}]\" (or -e \".[{extra}]\" in a checkout)"))
        else:
            found.append(Finding("ok", label, "installed"))
    return found


def check_server() -> list[Finding]:
    """Running? On which URL? Is the token file private?"""
    from adastyle.config import config_dir

    folder = config_dir()
    found = [Finding("info", "Config", f"folder {folder}")]
    try:
        from adastyle.server import run

        info = run.status()
    except Exception as exc:  # a broken pidfile or a missing extra must not stop the report
        info = None
        found.append(Finding("info", "Server", f"status unknown ({type(exc).__name__}: {exc})"))
    if info is None:
        found.append(Finding("info", "Server", "not running; start it with: adastyle serve --background "
                                               "(the plug-ins also start it themselves)"))
    elif info.get("status") == "ok":
        found.append(Finding("ok", "Server", f"running at {info.get('url')} (pid {info.get('pid')}, "
                                             f"device {info.get('device')}, port {info.get('port')})"))
    else:
        found.append(Finding("warn", "Server", f"pid {info.get('pid')} at {info.get('url')} is not answering: "
                                               "adastyle stop, then adastyle serve --background"))
    token = folder / "token"
    if not token.exists():
        found.append(Finding("info", "Token", f"{token} not created yet (the server writes it on first start)"))
    else:
        mode = stat.S_IMODE(token.stat().st_mode)
        if sys.platform != "win32" and mode & 0o077:
            found.append(Finding("warn", "Token", f"{token} is readable by others (mode {mode:o}): chmod 600 {token}"))
        else:
            found.append(Finding("ok", "Token", f"{token} (mode {mode:o})"))
    return found


def check_hosts() -> list[Finding]:
    """Every GIMP/Krita installation found, whether the plug-in is in its folder, and the command to put it there."""
    from adastyle.install import APP_TITLES, is_installed

    found = []
    for app in ("gimp", "krita"):
        name = APP_TITLES[app]
        installs = hosts.installs_for(app)
        present = [i for i in installs if i.present]
        if not present:
            folder = installs[0].plugin_dir
            where = (f"plug-in installed in {folder}, ready for when {name} is installed" if is_installed(app, folder)
                     else f"to put the plug-in into its folder {folder} anyway: adastyle install-plugin {app}")
            found.append(Finding("info", name, f"not found (no regular, Flatpak or Snap {name}); {where}"))
            continue
        for inst in present:
            where = f"{name} ({inst.kind})"
            if is_installed(app, inst.plugin_dir):
                found.append(Finding("ok", where, f"{inst.found}; plug-in installed in {inst.plugin_dir}"))
            else:
                found.append(Finding("warn", where, f"{inst.found}; plug-in not installed; run: adastyle install-plugin {app} "
                                                    f"--dest {inst.plugin_dir}"
                                     + (" (then enable it in Krita's Python Plugin Manager)" if app == "krita" else "")
                                     + (f" or, for all of them, adastyle install-plugin {app}" if len(present) > 1
                                        else "")))
            if inst.note:
                found.append(Finding("info", where, inst.note))
    return found


def run_checks() -> list[Finding]:
    return [*check_python(), *check_torch(), *check_weights(), *check_extras(), *check_server(), *check_hosts()]


def format_report(findings: list[Finding]) -> str:
    width = max(len(f.topic) for f in findings)
    lines = [f"AdaStyle {__version__} on {platform.system()} {platform.machine()}"]
    lines += [f"{MARKS[f.state]} {f.topic.ljust(width)}  {f.text}" for f in findings]
    return "\n".join(lines)
