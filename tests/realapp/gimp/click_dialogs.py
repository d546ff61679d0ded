#!/usr/bin/env python3
"""Play a user at GIMP's windows under Xvfb: wait for a window by title, then press keys in it.

Run by batch_gui.py as a separate process (the batch script itself is blocked inside the procedure call
while the dialogs are up). Usage: click_dialogs.py OUT.json STEP...; a STEP is
'TITLE_REGEX=KEY[@DELAY_S]': KEY is pressed until the window closes (twice, then Alt+O); 'KEY!' is pressed once
in a window that stays (a button's mnemonic inside a dialog); 'type:TEXT!' types TEXT into it (a path into a
file chooser). Writes {"steps": [{title, seen_after_s,
keys_sent, closed}]} to OUT.json.
"""
import json
import os
import subprocess
import sys
import time


def xdotool(*args: str) -> str:
    try:
        return subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def find_window(title: str) -> str | None:
    found = xdotool("search", "--onlyvisible", "--name", title).split()
    return found[0] if found else None


def wait_window(title: str, timeout: float) -> str | None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        wid = find_window(title)
        if wid:
            return wid
        time.sleep(0.2)
    return None


def press(wid: str, key: str) -> None:
    """Press KEY in the window, or type TEXT into it for 'type:TEXT'."""
    xdotool("windowfocus", "--sync", wid)
    if key.startswith("type:"):
        xdotool("type", "--delay", "40", key[len("type:"):])
    else:
        xdotool("key", "--clearmodifiers", key)


def play(step: str, started: float, shot: str = "") -> dict:
    title, _, action = step.partition("=")
    key, _, delay = action.partition("@")
    rec = {"title": title, "seen_after_s": None, "keys_sent": [], "closed": False}
    wid = wait_window(title, 90)
    if wid is None:
        return rec
    rec["seen_after_s"] = round(time.time() - started, 2)
    time.sleep(float(delay or 0.5))  # let GTK map and focus the dialog
    if shot:  # what the user saw (e.g. the dialog's fields), kept in test-artifacts/gimp/
        subprocess.run(["import", "-window", wid, shot], capture_output=True, timeout=10, check=False)
    if key.endswith("!"):
        press(wid, key[:-1])
        rec["keys_sent"].append(key[:-1])
        return rec
    for attempt in (key, key, "Escape" if key == "Escape" else "alt+o"):
        press(wid, attempt)
        rec["keys_sent"].append(attempt)
        time.sleep(1.0)
        if find_window(title) != wid:
            rec["closed"] = True
            break
    return rec


def main(argv: list[str]) -> None:
    started = time.time()
    # Screenshots go to out/ beside OUT.json (the test copies out/*.png to its artifacts): OUT-stepN.png.
    stem = os.path.join(os.path.dirname(argv[1]), "out", os.path.splitext(os.path.basename(argv[1]))[0])
    steps = [play(step, started, f"{stem}-step{i}.png") for i, step in enumerate(argv[2:])]
    with open(argv[1], "w") as f:
        json.dump({"steps": steps}, f)


if __name__ == "__main__":
    main(sys.argv)
