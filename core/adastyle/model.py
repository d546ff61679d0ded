"""The AdaIN network: a frozen VGG-19 encoder up to relu4_1, AdaIN, and a trained decoder.

The encoder takes RGB in [0, 1] and does the Caffe preprocessing (RGB->BGR, x255, minus the
ImageNet mean) inside its first convolution, so callers never deal with BGR or means. Reflection
padding is used everywhere (as the AdaIN paper) so that the preprocessing fold is exact and borders
show no dark frames.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from adastyle.adain import EPS, adain, adain_with_stats, mean_std  # noqa: F401  (the trainer imports them from here)
from adastyle.errors import UserError

# (name, in, out) for the VGG-19 convolutions up to relu4_1; "pool" marks a 2x2 max pool.
ENCODER_LAYERS: list[tuple[str, int, int] | str] = [
    ("conv1_1", 3, 64), ("conv1_2", 64, 64), "pool",
    ("conv2_1", 64, 128), ("conv2_2", 128, 128), "pool",
    ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256), ("conv3_4", 256, 256), "pool",
    ("conv4_1", 256, 512),
]
TAPS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1")  # their ReLU outputs: relu1_1 .. relu4_1

# The decoder mirrors the encoder; "up" is a nearest-neighbour x2 upsampling.
DECODER_LAYERS: list[tuple[str, int, int] | str] = [
    ("conv4_1", 512, 256), "up",
    ("conv3_4", 256, 256), ("conv3_3", 256, 256), ("conv3_2", 256, 256), ("conv3_1", 256, 128), "up",
    ("conv2_2", 128, 128), ("conv2_1", 128, 64), "up",
    ("conv1_2", 64, 64), ("conv1_1", 64, 3),
]


def weights_dir() -> Path:
    """Folder of the shipped weights (package data, so it also works after a non-editable install)."""
    return Path(str(resources.files("adastyle") / "weights"))


class Encoder(nn.Module):
    """VGG-19 conv1_1..relu4_1 with reflection padding; input RGB in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleDict()
        for layer in ENCODER_LAYERS:
            if layer != "pool":
                name, cin, cout = layer
                self.convs[name] = nn.Conv2d(cin, cout, 3)
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """relu4_1 features."""
        return self.taps(x)[-1]

    def taps(self, x: torch.Tensor, upto: int = 4) -> list[torch.Tensor]:
        """relu1_1, relu2_1, relu3_1, relu4_1 (the first `upto` of them)."""
        out: list[torch.Tensor] = []
        for layer in ENCODER_LAYERS:
            if layer == "pool":
                x = F.max_pool2d(x, 2)
                continue
            name = layer[0]
            x = F.relu(self.convs[name](F.pad(x, (1, 1, 1, 1), mode="reflect")))
            if name in TAPS:
                out.append(x)
                if len(out) == upto:
                    break
        return out


class Decoder(nn.Module):
    """The paper's decoder: mirror of the encoder, nearest upsampling, reflection padding, no norms."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleDict()
        for layer in DECODER_LAYERS:
            if layer != "up":
                name, cin, cout = layer
                self.convs[name] = nn.Conv2d(cin, cout, 3)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        x = t
        last = DECODER_LAYERS[-1][0]
        for layer in DECODER_LAYERS:
            if layer == "up":
                x = F.interpolate(x, scale_factor=2, mode="nearest")
                continue
            name = layer[0]
            x = self.convs[name](F.pad(x, (1, 1, 1, 1), mode="reflect"))
            if name != last:
                x = F.relu(x)
        return x


class WeightsError(UserError):
    """A weights file that is missing, not a safetensors file, or made for another network."""


def load_safetensors_module(module: nn.Module, path: Path) -> nn.Module:
    """Load fp16/fp32 safetensors weights into a module (kept in fp32 in memory).

    Why WeightsError: the path may be the user's (`adastyle eval --decoder`, `train --init`, `serve
    --decoder`); a wrong file is their mistake to fix, told in one line, not a library's traceback.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    kind = type(module).__name__.lower()
    if not path.is_file():
        raise WeightsError(f"{path}: no such {kind} weights file")
    try:
        state = {k: v.float() for k, v in load_file(str(path)).items()}
    except (OSError, SafetensorError) as exc:
        raise WeightsError(f"{path}: not a {kind} weights file (.safetensors): "
                           f"{' '.join(str(exc).split())[:120]}") from None
    try:
        missing, unexpected = module.load_state_dict(state, strict=False)
    except RuntimeError:  # a tensor of another shape: weights of another network
        missing, unexpected = ["(tensors of other shapes)"], []
    if missing or unexpected:
        names = ", ".join([*missing, *unexpected][:3])
        raise WeightsError(f"{path}: these weights are not an AdaStyle {kind} (they do not fit it: {names} ...)")
    return module


def load_encoder(path: Path | None = None) -> Encoder:
    """The committed VGG-19 relu4_1 encoder, in eval mode, frozen."""
    enc = Encoder()
    load_safetensors_module(enc, path or weights_dir() / "vgg19_relu4_1.safetensors")
    return enc.eval()


def load_decoder(path: Path | None = None) -> Decoder:
    """The committed trained decoder, in eval mode."""
    dec = Decoder()
    load_safetensors_module(dec, path or weights_dir() / "decoder.safetensors")
    return dec.eval().requires_grad_(False)
