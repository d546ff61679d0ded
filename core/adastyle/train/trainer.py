"""Decoder training (AdaIN paper recipe, made cheap enough for a 2-core CPU and fast on CUDA).

What makes a CPU step cheap: the encoder is frozen; each style image's mean/std at the four taps are
computed once (tiny vectors) instead of encoding a style crop every step; bf16 autocast with
channels_last where the CPU has native bf16 (about 3x faster than fp32 there; fp32 elsewhere). Checkpoints are
safetensors written atomically every `ckpt_every` steps, so a killed run loses at most one interval; SIGTERM or
Ctrl-C ends the current step and saves one, so a stopped run loses nothing.
"""
from __future__ import annotations

import csv
import json
import logging
import math
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

try:
    from tqdm import tqdm
except ImportError:  # a bare GPU machine may have torch, torchvision, numpy, pillow, safetensors only

    class tqdm:  # noqa: N801  (a stand-in with the few methods used here)
        def __init__(self, iterable=None, total=None, initial=0, **_):
            self.iterable, self.n = iterable, initial

        def __iter__(self):
            return iter(self.iterable)

        def update(self, n=1):
            self.n += n
            if self.n % 100 == 0:
                print(f"step {self.n}", flush=True)

        def set_postfix(self, **_):
            pass

        def close(self):
            pass

from adastyle.device import pick_device
from adastyle.model import Decoder, Encoder, adain_with_stats, load_encoder, load_safetensors_module, mean_std
from adastyle.train.losses import balancing_weights, channel_means, content_loss, style_loss_per_item, style_scale

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    data: str
    out: str
    steps: int = 1000           # total step count to reach (resumes count toward it)
    minutes: float = 0.0        # wall-clock budget; 0 = no limit
    batch: int = 8
    crop: int = 128
    lr: float = 2e-4
    lr_decay: float = 5e-5
    warmup: int = 100
    style_weight: float = 10.0
    style_ramp: int = 200       # style weight ramps up from 0: the decoder first learns to invert relu4_1
    ckpt_every: int = 50
    device: str = "auto"
    init: str = ""              # decoder weights to start from when there is no checkpoint
    seed: int = 0
    ema: float = 0.998          # decay of the weight average that is exported (0 = export raw weights)
    clip: float = 3.0           # clip the gradient norm at clip x its running average (0 = never)
    anneal: float = 0.0         # final fraction of this invocation (steps or minutes) where lr falls to 10%
    layer_weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)  # style loss per tap (paper: equal)
    variants: int = 0           # synthetic copies per style image (grey, inverted, posterised, ...), stats precomputed
    sketches: int = 0           # pencil-like drawings made from this many photos, added as styles
    mix: float = 0.0            # share of batch items whose style is a random mix of two styles' statistics
    identity: float = 0.0       # share of batch items decoded from their own features (no style): identity term
    identity_pixel: float = 10.0  # weight of the pixel loss on those items (beside their feature losses)
    style_side: int = 512       # style statistics from a centre crop of this side (the paper: 256 crops at 512 px)
    identity_art: float = 0.0   # share of the identity items that are crops of paintings instead of photos
    style_norm: str = "none"    # per-item style loss weights: none | style (by the style's own magnitude, Cheng et
                                # al. 2021) | pair (by the item's own content-to-style distance)
    probe_side: int = 256       # side of the 32 crops whose channel means balance the loss taps at a run's start


def usable_cpus() -> int:
    """The cores this process may run on: `taskset` or a container's CPU set, not every core of the machine.
    Why: two runs pinned to one core each would otherwise both start a thread per core and fight."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def autocast_for(device: torch.device):
    """bf16 autocast where the hardware does bf16 natively (CUDA; CPUs with AVX-512 BF16 or AMX), else fp32.

    Why not always: on a CPU without native bf16 (AVX2 only) autocast emulates it, and the encoder ran 9x slower
    than in fp32 (110 s against 12 s for 16 crops of 256 px on one core).
    """
    from adastyle.device import cpu_has_bf16

    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if device.type == "cpu" and cpu_has_bf16():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return nullcontext()


def load_images(folder: Path) -> list[torch.Tensor]:
    """All JPEG/PNG images of a folder as uint8 CHW tensors (kept in memory: the set is small)."""
    out = []
    for p in sorted(folder.glob("*")):
        if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"):
            with Image.open(p) as im:
                out.append(TF.pil_to_tensor(im.convert("RGB")))
    if not out:
        raise FileNotFoundError(f"no images in {folder}")
    return out


class ContentSampler:
    """Random crops at several scales, with flips, from a small pool of photos."""

    def __init__(self, images: list[torch.Tensor], crop: int, seed: int) -> None:
        self.images = images
        self.crop = crop
        self.rng = random.Random(seed)
        self.flip = v2.RandomHorizontalFlip()

    def batch(self, n: int) -> torch.Tensor:
        out = []
        for _ in range(n):
            img = self.images[self.rng.randrange(len(self.images))]
            h, w = img.shape[1:]
            side = self.rng.randint(min(self.crop, h, w), max(min(h, w, int(self.crop * 3)), min(self.crop, h, w)))
            top, left = self.rng.randint(0, h - side), self.rng.randint(0, w - side)
            patch = TF.resized_crop(img, top, left, side, side, [self.crop, self.crop], antialias=True)
            if self.rng.random() < 0.5:
                patch = TF.horizontal_flip(patch)
            out.append(patch)
        return torch.stack(out).float() / 255.0


def style_crop(img: torch.Tensor, side: int) -> torch.Tensor:
    """A side x side centre crop of a uint8 CHW image; an image smaller than that is first scaled up to cover it.

    Why one shape for all: the pool mixes thousands of sizes, and on the CPU every new input shape costs new
    kernels and allocations (memory grew to 21 GB over 1,200 images of assorted sizes); equal shapes also let
    the statistics be computed in batches.
    """
    h, w = img.shape[1:]
    if min(h, w) < side:
        scale = side / min(h, w)
        img = TF.resize(img, [max(side, round(h * scale)), max(side, round(w * scale))], antialias=True)
    return TF.center_crop(img, [side, side])


def style_statistics(encoder: Encoder, images: list[torch.Tensor], device: torch.device,
                     side: int = 512, batch: int = 16) -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
    """Per style image, (mean, std) at the four taps, from a side x side centre crop (see style_crop)."""
    stats: list[list[tuple[torch.Tensor, torch.Tensor]]] = []
    bar = tqdm(total=len(images), desc="style statistics", leave=False)
    for i in range(0, len(images), batch):
        x = torch.stack([style_crop(img, side) for img in images[i:i + batch]]).float() / 255.0
        x = x.to(device).contiguous(memory_format=torch.channels_last)
        with torch.no_grad(), autocast_for(device):
            taps = encoder.taps(x)
        per_tap = [tuple(t.float().cpu() for t in mean_std(f)) for f in taps]
        stats.extend([[(m[j:j + 1], sd[j:j + 1]) for m, sd in per_tap] for j in range(x.shape[0])])
        bar.update(x.shape[0])
    bar.close()
    return stats


def cached_style_statistics(path: Path, encoder: Encoder, images: list[torch.Tensor], device: torch.device,
                            key: str = "", side: int = 512,
                            save_every: int = 128) -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
    """style_statistics, stored beside the checkpoint so a resumed run does not recompute them.

    `key` names how the style pool was made (counts of variants and sketches, seed): a pool made differently
    is recomputed, not mistaken for the stored one. The file is written every `save_every` images, so a run
    killed while measuring thousands of styles (an hour on one slow core) goes on where it stopped.
    """
    from safetensors import safe_open

    stats: list[list[tuple[torch.Tensor, torch.Tensor]]] = []
    if path.exists():
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        if meta.get("key") == key and int(meta.get("count", -1)) == len(images):
            t = load_file(str(path))
            done = int(meta.get("done", 0))
            stats = [[(t[f"{k}.mean"][i:i + 1], t[f"{k}.std"][i:i + 1]) for k in range(4)] for i in range(done)]
    while len(stats) < len(images):
        start = len(stats)
        stats += style_statistics(encoder, images[start:start + save_every], device, side)
        flat = {f"{k}.{name}": torch.cat([per[k][j] for per in stats]).contiguous()
                for k in range(4) for j, name in enumerate(("mean", "std"))}
        tmp = path.with_name(path.name + ".tmp")
        save_file(flat, str(tmp), metadata={"key": key, "count": str(len(images)), "done": str(len(stats))})
        os.replace(tmp, path)
        log.info("style statistics: %d of %d", len(stats), len(images))
    return stats


def style_pool(styles: list[torch.Tensor], contents: list[torch.Tensor], cfg: TrainConfig) -> list[torch.Tensor]:
    """The style images to train on: the real ones, `cfg.variants` synthetic copies of each, and pencil
    drawings of `cfg.sketches` photos. Deterministic for a seed, so a resumed run finds its cached statistics."""
    from adastyle.train.synthetic import VARIANTS, pencil_sketch, style_variant

    rng = random.Random(cfg.seed + 7)
    pool = list(styles)
    for img in styles:
        for kind in rng.sample(VARIANTS, min(cfg.variants, len(VARIANTS))):
            pool.append(style_variant(img, kind, rng))
    for i in rng.sample(range(len(contents)), min(cfg.sketches, len(contents))):
        pool.append(pencil_sketch(contents[i], rng))
    return pool


def save_checkpoint(path: Path, decoder: Decoder, opt: torch.optim.Optimizer, step: int,
                    norms: list[torch.Tensor], cfg: TrainConfig, ema: dict[str, torch.Tensor] | None = None) -> None:
    """decoder + its weight average + Adam moments + normalisers in one safetensors file (no pickle), atomic."""
    tensors = {f"decoder.{k}": v.detach().float().cpu().contiguous() for k, v in decoder.state_dict().items()}
    for k, v in (ema or {}).items():
        tensors[f"ema.{k}"] = v.detach().float().cpu().contiguous()
    names = {id(p): n for n, p in decoder.named_parameters()}
    for group in opt.param_groups:
        for p in group["params"]:
            st = opt.state.get(p)
            if st:
                tensors[f"adam.exp_avg.{names[id(p)]}"] = st["exp_avg"].float().cpu().contiguous()
                tensors[f"adam.exp_avg_sq.{names[id(p)]}"] = st["exp_avg_sq"].float().cpu().contiguous()
    for i, n in enumerate(norms):
        tensors[f"norm.{i}"] = n.float().cpu().contiguous()
    meta = {"step": str(step), "config": json.dumps(asdict(cfg))}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, path)


def load_checkpoint(path: Path, decoder: Decoder, opt: torch.optim.Optimizer,
                    device: torch.device) -> tuple[int, list[torch.Tensor], dict[str, torch.Tensor]]:
    """Restore decoder, Adam moments and normalisers; also return the weight average (empty if none was kept)."""
    from safetensors import safe_open

    tensors = load_file(str(path))
    with safe_open(str(path), "pt") as f:
        step = int(f.metadata()["step"])
    decoder.load_state_dict({k[8:]: v for k, v in tensors.items() if k.startswith("decoder.")})
    for n, p in decoder.named_parameters():
        if f"adam.exp_avg.{n}" in tensors:
            opt.state[p] = {"step": torch.tensor(float(step)),
                            "exp_avg": tensors[f"adam.exp_avg.{n}"].to(device),
                            "exp_avg_sq": tensors[f"adam.exp_avg_sq.{n}"].to(device)}
    norms = [tensors[f"norm.{i}"].to(device) for i in range(4)]
    ema = {k[4:]: v.to(device) for k, v in tensors.items() if k.startswith("ema.")}
    return step, norms, ema


def export_decoder(ckpt: Path, out: Path, extra_meta: dict[str, str] | None = None, raw: bool = False) -> Path:
    """Write the decoder of a checkpoint as fp16 safetensors (what we commit and ship).

    The weight average is exported when the run kept one: it is the raw weights with Adam's step-to-step
    noise averaged out. On eval-dev it beat the raw weights of the same step mid-run (s 0.141 vs 0.154 at step
    5,748) and matched them after an lr anneal (0.136 vs 0.135). `raw` exports the raw weights instead, to
    compare the two on eval-dev.
    """
    tensors = load_file(str(ckpt))
    prefix = "ema." if not raw and any(k.startswith("ema.") for k in tensors) else "decoder."
    dec = {k[len(prefix):]: v.half().contiguous() for k, v in tensors.items() if k.startswith(prefix)}
    save_file(dec, str(out), metadata=extra_meta or {})
    return out


def anneal_factor(cfg: TrainConfig, steps_done: int, steps_total: int, seconds: float) -> float:
    """Learning-rate multiplier: 1, then a linear fall to 0.1 over the final `cfg.anneal` of this run.

    Why: a run ends at a step or time budget; ending at a low learning rate settles the weights
    instead of stopping mid-stride. Progress is whichever of steps or minutes is nearer its limit.
    """
    if cfg.anneal <= 0:
        return 1.0
    progress = steps_done / steps_total if steps_total > 0 else 0.0
    if cfg.minutes > 0:
        progress = max(progress, seconds / (cfg.minutes * 60))
    left = (1.0 - progress) / cfg.anneal
    return max(0.1, min(1.0, left))


class StopRequest:
    """Set by SIGTERM or SIGINT while a run trains; the loop finishes its step and saves a checkpoint."""

    def __init__(self) -> None:
        self.signal = 0

    def __bool__(self) -> bool:
        return self.signal != 0


@contextmanager
def stop_on_signal() -> Iterator[StopRequest]:
    """Turn SIGTERM and SIGINT into a request to stop after the current step, then restore the old handlers.

    A run stopped by `kill` or Ctrl-C would otherwise lose every step since its last checkpoint (a background
    run started with `&` ignores SIGINT, so SIGTERM is how it is stopped). Outside the main thread signals
    cannot be caught, and the run stops only at its limits."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def ask(signum: int, _frame: object) -> None:
        request.signal = signum

    old = {s: signal.signal(s, ask) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield request
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def train(cfg: TrainConfig) -> Path:
    """Train (or resume) until cfg.steps or cfg.minutes; return the checkpoint path."""
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device)
    if device.type == "cpu":
        torch.set_num_threads(usable_cpus())
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "checkpoint.safetensors"
    data = Path(cfg.data)
    encoder = load_encoder().to(device).to(memory_format=torch.channels_last)
    decoder = Decoder().to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(decoder.parameters(), lr=cfg.lr)
    contents = load_images(data / "content")
    styles = load_images(data / "style")
    ema: dict[str, torch.Tensor] = {}
    if ckpt.exists():
        step, norms, ema = load_checkpoint(ckpt, decoder, opt, device)
        log.info("resumed from %s at step %d", ckpt, step)
    else:
        step = 0
        if cfg.init:
            load_safetensors_module(decoder, Path(cfg.init))  # a wrong file: one line (WeightsError), not a traceback
        probe = ContentSampler(contents + styles, cfg.probe_side, seed=1)
        norms = [n.to(device) for n in channel_means(encoder.float().cpu(), [probe.batch(8) for _ in range(4)])]
        encoder.to(device)
    if cfg.ema > 0 and not ema:
        ema = {k: v.detach().float().clone() for k, v in decoder.state_dict().items()}
    art_sampler = ContentSampler(styles, cfg.crop, seed=cfg.seed + 11 + step) if cfg.identity_art > 0 else None
    styles = style_pool(styles, contents, cfg)
    pool_key = f"{len(styles)}:{cfg.variants}:{cfg.sketches}:{cfg.seed}:{cfg.style_side}"
    s_stats = cached_style_statistics(out / "style_stats.safetensors", encoder, styles, device, pool_key,
                                      cfg.style_side)
    n_identity = round(cfg.batch * cfg.identity)
    if device.type == "cuda":
        # On a GPU the photos live on the GPU and are cropped there, so the GPU never waits for one CPU core to
        # cut a batch of crops (an H100 ran 18.8 steps/s at batch 16, 256 px); cuDNN picks its kernels once.
        contents = [c.to(device) for c in contents]
        torch.backends.cudnn.benchmark = True
    sampler = ContentSampler(contents, cfg.crop, seed=cfg.seed + step)
    rng = random.Random(cfg.seed + step)
    log_path = out / "log.csv"
    new_log = not log_path.exists()
    logf = log_path.open("a", newline="")
    writer = csv.writer(logf)
    if new_log:
        writer.writerow(["step", "loss", "content", "style", "style_weight", "lr", "sec_per_step", "grad_norm"])
    t_start, start_step = time.time(), step
    t_end = t_start + cfg.minutes * 60 if cfg.minutes > 0 else math.inf
    bar = tqdm(total=cfg.steps, initial=step, desc="train", dynamic_ncols=True, mininterval=5)
    decoder.train()
    params = list(decoder.parameters())
    ema_params = [ema[n] for n, _ in decoder.named_parameters()] if ema else []
    grad_avg = 0.0
    last = time.time()
    with stop_on_signal() as stop:
        while step < cfg.steps and time.time() < t_end and not stop:
            lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup) / (1.0 + cfg.lr_decay * step)
            lr *= anneal_factor(cfg, step - start_step, cfg.steps - start_step, time.time() - t_start)
            for g in opt.param_groups:
                g["lr"] = lr
            sw = cfg.style_weight * min(1.0, step / cfg.style_ramp) if cfg.style_ramp else cfg.style_weight
            x = sampler.batch(cfg.batch)
            if art_sampler is not None:
                # A decoder that gives back a painting from its own features does not carry a photo's colours
                # into a monochrome style.
                for i in range(n_identity):
                    if rng.random() < cfg.identity_art:
                        x[i] = art_sampler.batch(1)[0]
            x = x.to(device).contiguous(memory_format=torch.channels_last)
            per_item = [pick_style_statistics(s_stats, rng, cfg.mix) for _ in range(cfg.batch)]
            target_stats = [(torch.cat([st[k][0] for st in per_item]).to(device),
                             torch.cat([st[k][1] for st in per_item]).to(device)) for k in range(4)]
            loss, lc, ls = step_losses(decoder, encoder, x, target_stats, norms, cfg, n_identity, sw)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            # A rare style image with extreme statistics gives a gradient many times the usual size; one such
            # step visibly damaged the weights in the first run, so clip relative to the running average.
            limit = cfg.clip * grad_avg if cfg.clip > 0 and step - start_step >= 20 else math.inf
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, limit))
            if math.isfinite(grad_norm):
                seen = min(grad_norm, limit)
                grad_avg = seen if grad_avg == 0 else 0.98 * grad_avg + 0.02 * seen
                opt.step()
                if ema_params:
                    decay = min(cfg.ema, (1 + step) / (10 + step))  # the usual warm-up: early steps weigh more
                    torch._foreach_lerp_(ema_params, [p.detach().float() for p in params], 1.0 - decay)
            step += 1
            now = time.time()
            writer.writerow([step, f"{loss.item():.5f}", f"{lc.item():.5f}", f"{ls.item():.5f}", f"{sw:.3f}",
                             f"{lr:.2e}", f"{now - last:.3f}", f"{grad_norm:.4g}"])
            last = now
            bar.update(1)
            bar.set_postfix(c=f"{lc.item():.3f}", s=f"{ls.item():.3f}", refresh=False)  # redraw every 5 s only
            if step % cfg.ckpt_every == 0:
                logf.flush()
                save_checkpoint(ckpt, decoder, opt, step, norms, cfg, ema)
    bar.close()
    save_checkpoint(ckpt, decoder, opt, step, norms, cfg, ema)
    logf.close()
    if stop:
        log.warning("stopped by signal %d at step %d; checkpoint saved", stop.signal, step)
    return ckpt


def weighted_style_loss(y_taps: list[torch.Tensor], c_taps: list[torch.Tensor],
                        target_stats: list[tuple[torch.Tensor, torch.Tensor]], norms: list[torch.Tensor],
                        cfg: TrainConfig, n_identity: int) -> torch.Tensor:
    """The batch's style loss, each item weighted by cfg.style_norm (identity items, whose target is their own
    statistics, weigh 1)."""
    per_item = style_loss_per_item(y_taps, target_stats, norms, cfg.layer_weights)
    if cfg.style_norm == "none":
        return per_item.mean()
    keep = torch.ones(per_item.shape[0], dtype=torch.bool, device=per_item.device)
    keep[:n_identity] = False
    with torch.no_grad():
        if cfg.style_norm == "pair":
            scale = style_loss_per_item(c_taps, target_stats, norms, cfg.layer_weights)
        elif cfg.style_norm == "style":
            scale = style_scale(target_stats, norms, cfg.layer_weights)
        else:
            raise ValueError(f"unknown style_norm {cfg.style_norm!r}: none, style or pair")
    return (per_item * balancing_weights(scale, keep)).mean()


def pick_style_statistics(s_stats: list[list[tuple[torch.Tensor, torch.Tensor]]], rng: random.Random,
                          mix: float) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """One batch item's target statistics: a style of the pool, or with probability `mix` a blend of two."""
    from adastyle.train.synthetic import mix_statistics

    a = s_stats[rng.randrange(len(s_stats))]
    if mix > 0 and rng.random() < mix:
        return mix_statistics(a, s_stats[rng.randrange(len(s_stats))], rng.uniform(0.2, 0.8))
    return a


def identity_loss(y: torch.Tensor, x: torch.Tensor, y_taps: list[torch.Tensor], x_taps: list[torch.Tensor],
                  norms: list[torch.Tensor], n: int, pixel_weight: float) -> torch.Tensor:
    """SANet's identity term (Park & Lee 2019) for the first n items, decoded from their own relu4_1: the
    picture itself in pixels and its features at every tap. Why: the paper's losses only ask the decoder to
    reach statistics, so nothing made it give back a face at alpha 0 (17 dB before this term)."""
    pixel = torch.nn.functional.mse_loss(y.float(), x.float())
    feat = sum(torch.nn.functional.mse_loss(a[:n].float() / nm, b[:n].float() / nm)
               for a, b, nm in zip(y_taps, x_taps, norms))
    return pixel_weight * pixel + feat


def step_losses(decoder: Decoder, encoder: Encoder, x: torch.Tensor,
                target_stats: list[tuple[torch.Tensor, torch.Tensor]], norms: list[torch.Tensor], cfg: TrainConfig,
                n_identity: int = 0, style_weight: float | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One batch's training loss and its content and style parts: x's relu4_1 given each item's target
    statistics (`target_stats`, one (mean, std) per tap), decoded, encoded again and compared; the first
    `n_identity` items are decoded from their own statistics and also scored by the identity term. Autocast as
    the device allows; `style_weight` defaults to cfg's (the loop passes the ramped one)."""
    sw = cfg.style_weight if style_weight is None else style_weight
    with autocast_for(x.device):
        with torch.no_grad():
            c_taps = encoder.taps(x)
            if n_identity:
                # The first items are decoded from their own features: their style is their own.
                for k in range(4):
                    m, sd = mean_std(c_taps[k][:n_identity].float())
                    target_stats[k][0][:n_identity] = m.to(target_stats[k][0].dtype)
                    target_stats[k][1][:n_identity] = sd.to(target_stats[k][1].dtype)
        t = adain_with_stats(c_taps[3], *target_stats[3])
        y = decoder(t)
        y_taps = encoder.taps(y)
    lc = content_loss(y_taps[3], t, norms[3])
    ls = weighted_style_loss(y_taps, c_taps, target_stats, norms, cfg, n_identity)
    loss = lc + sw * ls
    if n_identity:
        loss = loss + identity_loss(y[:n_identity], x[:n_identity], y_taps, c_taps, norms, n_identity,
                                    cfg.identity_pixel)
    return loss, lc, ls
