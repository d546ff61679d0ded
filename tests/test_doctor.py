"""`adastyle doctor` runs anywhere (CI included) and names the device, the weights and the plug-in state."""
from __future__ import annotations

import os
import subprocess
import sys


def test_doctor_names_device_weights_server_and_plugin_state(tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), ADASTYLE_HOME=str(tmp_path / "cfg"))
    r = subprocess.run([sys.executable, "-m", "adastyle.cli", "doctor"], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    print(out)
    import torch

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert "Device  " in out and f"  {expected} (" in out
    if expected == "cpu":
        assert "No CUDA" in out
    assert "decoder.safetensors" in out and "vgg19_relu4_1.safetensors" in out
    assert "Server" in out and "not running" in out
    for app in ("gimp", "krita"):
        assert f"adastyle install-plugin {app}" in out  # not installed anywhere in this fresh HOME: the command
    assert not (tmp_path / "cfg").exists(), "doctor must not write"
