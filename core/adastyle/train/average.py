"""Weight averaging of decoders ("model soup", Wortsman et al. 2022).

Why: two decoders fine-tuned from the same starting weights sit in one basin of the loss, so their weighted mean
is itself a good decoder, and often better than either. The shipped decoder is such a mean: the previous
decoder (strong on styles like its own training styles) and its fine-tune on the wide training set (strong on
unlike styles); the mean kept the first one's eval-dev score and most of the second one's eval-wide gain.
"""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from adastyle.errors import UserError


def parse_weighted(spec: str) -> tuple[Path, float]:
    """'decoder.safetensors:0.6' -> (path, 0.6); a bare path weighs 1."""
    path, sep, weight = spec.rpartition(":")
    if not sep or not weight.replace(".", "", 1).isdigit():
        return Path(spec), 1.0
    value = float(weight)
    if value <= 0:
        raise UserError(f"{spec}: a weight must be above 0")
    return Path(path), value


def average_decoders(items: list[tuple[Path, float]], out: Path) -> Path:
    """Write the weighted mean (weights normalised to sum 1, computed in fp32) of decoder files as fp16."""
    if len(items) < 2:
        raise UserError("averaging needs at least two decoders")
    total = sum(w for _, w in items)
    mean: dict[str, torch.Tensor] = {}
    for path, weight in items:
        try:
            tensors = load_file(str(path))
        except (OSError, SafetensorError) as exc:
            raise UserError(f"{path}: not a readable decoder file ({exc})") from exc
        if mean and (tensors.keys() != mean.keys()
                     or any(t.shape != mean[k].shape for k, t in tensors.items())):
            raise UserError(f"{path}: its layers differ from {items[0][0]}'s; only decoders of one design average")
        for k, t in tensors.items():
            mean[k] = mean.get(k, torch.zeros(t.shape)) + t.float() * (weight / total)
    save_file({k: v.half().contiguous() for k, v in mean.items()}, str(out),
              metadata={"averaged": ", ".join(f"{p.name}:{w / total:.3f}" for p, w in items)})
    return out
