"""Weight averaging of decoders ("model soup", Wortsman et al. 2022), whole or stage by stage.

Why: two decoders fine-tuned from the same starting weights sit in one basin of the loss, so their weighted mean
is itself a good decoder, and often better than either. The shipped decoder is such a mean: a run trained for
style and a branch of it trained also to give back its input (the identity term). The two runs differ most in
different stages of the decoder, so a weight may be given per stage (conv4 = conv4_1, the first layer after
relu4_1's features; conv3; conv2; conv1 = the layers nearest the pixels): a mean that takes the deep stages
half or more from the identity run and the pixel stage mostly from the style run kept more style and gave back
more of the photo than the one-weight means did (PROVENANCE.md, the eighth decoder).
"""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from adastyle.errors import UserError

STAGES = ("conv4", "conv3", "conv2", "conv1")  # the decoder's stages, from relu4_1's features to the pixels
Weight = float | dict[str, float]  # one weight for every stage, or one per stage


def _number(text: str, spec: str, zero_allowed: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{spec}: {text!r} is not a number") from None
    if not (value > 0 or (zero_allowed and value == 0)):  # also refuses nan
        raise UserError(f"{spec}: a weight must be {'0 or more' if zero_allowed else 'above 0'}")
    return value


def _stage_weights(text: str, spec: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in text.split(","):
        stage, _, value = part.partition("=")
        if stage not in STAGES:
            raise UserError(f"{spec}: {stage!r} is not a decoder stage (stages: {', '.join(STAGES)})")
        weights[stage] = _number(value, spec, zero_allowed=True)  # 0: this stage from the other decoders
    missing = [s for s in STAGES if s not in weights]
    if missing:
        raise UserError(f"{spec}: a weight per stage needs every stage; missing {', '.join(missing)}")
    return weights


def parse_weighted(spec: str) -> tuple[Path, Weight]:
    """'decoder.safetensors:0.6' -> (path, 0.6); 'd.safetensors:conv4=0.5,conv3=0.5,conv2=0.3,conv1=0.3' -> a
    weight per stage; a bare path weighs 1, and so does a file whose own name holds a colon."""
    path, sep, weight = spec.rpartition(":")
    if not sep or not weight or "/" in weight or "\\" in weight or Path(spec).is_file():
        return Path(spec), 1.0
    if "=" in weight:
        return Path(path), _stage_weights(weight, spec)
    return Path(path), _number(weight, spec)


def _stage(key: str) -> str:
    """'convs.conv3_2.weight' -> 'conv3'."""
    layer = key.split(".")[1] if "." in key else key
    return layer.split("_")[0]


def _weight_in(weight: Weight, stage: str) -> float:
    return weight[stage] if isinstance(weight, dict) else weight


def _shares(items: list[tuple[Path, Weight]]) -> list[dict[str, float]]:
    """Each decoder's share in each stage: its weight over all the decoders' weights there."""
    totals = {stage: sum(_weight_in(w, stage) for _, w in items) for stage in STAGES}
    for stage, total in totals.items():
        if total == 0:
            raise UserError(f"every decoder weighs 0 in stage {stage}")
    return [{stage: _weight_in(w, stage) / totals[stage] for stage in STAGES} for _, w in items]


def _describe(items: list[tuple[Path, Weight]], shares: list[dict[str, float]]) -> str:
    if not any(isinstance(w, dict) for _, w in items):
        return ", ".join(f"{p.name}:{share[STAGES[0]]:.3f}" for (p, _), share in zip(items, shares))
    return ", ".join(f"{p.name}:" + ",".join(f"{s}={share[s]:.3f}" for s in STAGES)
                     for (p, _), share in zip(items, shares))


def average_decoders(items: list[tuple[Path, Weight]], out: Path) -> Path:
    """Write the weighted mean (weights normalised to sum 1 in each stage, computed in fp32) of decoder files as
    fp16."""
    if len(items) < 2:
        raise UserError("averaging needs at least two decoders")
    shares = _shares(items)
    staged = any(isinstance(w, dict) for _, w in items)
    mean: dict[str, torch.Tensor] = {}
    for (path, _), share in zip(items, shares):
        try:
            tensors = load_file(str(path))
        except (OSError, SafetensorError) as exc:
            raise UserError(f"{path}: not a readable decoder file ({exc})") from exc
        if mean and (tensors.keys() != mean.keys()
                     or any(t.shape != mean[k].shape for k, t in tensors.items())):
            raise UserError(f"{path}: its layers differ from {items[0][0]}'s; only decoders of one design average")
        for k, t in tensors.items():
            stage = _stage(k) if staged else STAGES[0]  # one weight for all: every layer weighs as the first stage
            if stage not in STAGES:
                raise UserError(f"{path}: layer {k} is in no decoder stage; average it with one weight")
            mean[k] = mean.get(k, torch.zeros(t.shape)) + t.float() * share[stage]
    save_file({k: v.half().contiguous() for k, v in mean.items()}, str(out),
              metadata={"averaged": _describe(items, shares)})
    return out
