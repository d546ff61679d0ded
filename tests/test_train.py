"""Training plumbing: resumable runs, the GPU pack, dataset selection that keeps eval-dev out."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from PIL import Image

from adastyle.train.sources import EVAL_SOURCES, SOURCES, Source


def tiny_dataset(root: Path) -> Path:
    for role, n in (("content", 3), ("style", 2)):
        (root / role).mkdir(parents=True)
        for i in range(n):
            Image.effect_mandelbrot((72, 64), (-2 + i * 0.1, -1.2, 1, 1.2), 60).convert("RGB").save(
                root / role / f"{role}{i}.jpg")
    (root / "manifest.csv").write_text("file,role,package,source,licence\n")
    return root


def test_training_resumes_from_its_checkpoint(tmp_path) -> None:
    from adastyle.train.trainer import TrainConfig, export_decoder, train

    data = tiny_dataset(tmp_path / "data")
    cfg = TrainConfig(data=str(data), out=str(tmp_path / "run"), steps=2, batch=2, crop=32, ckpt_every=1, device="cpu")
    ckpt = train(cfg)
    cfg.steps = 3
    train(cfg)  # a second process would do the same after a kill: it picks up the checkpoint
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert [int(r["step"]) for r in rows] == [1, 2, 3]
    assert all(float(r["grad_norm"]) > 0 for r in rows)
    out = export_decoder(ckpt, tmp_path / "decoder.safetensors")
    from safetensors.torch import load_file

    from adastyle.model import load_decoder

    assert load_decoder(out) is not None
    # What ships is the weight average, not the last step's raw weights (they differ after a step).
    saved, shipped = load_file(str(ckpt)), load_file(str(out))
    name = next(iter(shipped))
    assert torch.equal(shipped[name], saved[f"ema.{name}"].half())
    assert not torch.equal(saved[f"ema.{name}"], saved[f"decoder.{name}"])
    # ... unless the raw weights are asked for, to compare the two on eval-dev.
    raw = load_file(str(export_decoder(ckpt, tmp_path / "raw.safetensors", raw=True)))
    assert torch.equal(raw[name], saved[f"decoder.{name}"].half())


def test_training_without_a_weight_average_exports_the_raw_weights(tmp_path) -> None:
    from safetensors.torch import load_file

    from adastyle.train.trainer import TrainConfig, export_decoder, train

    data = tiny_dataset(tmp_path / "data")
    ckpt = train(TrainConfig(data=str(data), out=str(tmp_path / "run"), steps=1, batch=2, crop=32, device="cpu",
                             ema=0))
    saved = load_file(str(ckpt))
    assert not any(k.startswith("ema.") for k in saved)
    shipped = load_file(str(export_decoder(ckpt, tmp_path / "d.safetensors")))
    assert all(torch.equal(v, saved[f"decoder.{k}"].half()) for k, v in shipped.items())


def test_learning_rate_anneals_over_the_final_fraction_only() -> None:
    from adastyle.train.trainer import TrainConfig, anneal_factor

    cfg = TrainConfig(data="d", out="o", anneal=0.25)
    assert anneal_factor(cfg, 0, 1000, 0.0) == 1.0
    assert anneal_factor(cfg, 750, 1000, 0.0) == 1.0
    assert anneal_factor(cfg, 875, 1000, 0.0) == pytest.approx(0.5)
    assert anneal_factor(cfg, 1000, 1000, 0.0) == pytest.approx(0.1)  # never below 10%
    cfg.minutes = 10  # a time budget: whichever limit is nearer decides
    assert anneal_factor(cfg, 0, 10**6, 9 * 60) == pytest.approx(0.4)
    assert anneal_factor(TrainConfig(data="d", out="o"), 999, 1000, 0.0) == 1.0  # off by default


def test_pack_fits_its_budget(tmp_path) -> None:
    from adastyle.train.pack import make_pack

    data = tiny_dataset(tmp_path / "data")
    pack = make_pack(data, tmp_path / "pack", budget_mb=1)
    assert len(list((pack / "content").iterdir())) == 3 and (pack / "manifest.csv").exists()
    assert sum(p.stat().st_size for p in pack.rglob("*") if p.is_file()) < 1e6
    with Image.open(next((pack / "style").iterdir())) as im:
        assert im.width == im.height  # styles are square crops


def test_dataset_selection_leaves_out_eval_dev_sources(tmp_path) -> None:
    from adastyle.train.data import select_files

    root = tmp_path / "pkg"
    story = root / "usr/share/games/wesnoth/1.16/data/core/images/story"
    story.mkdir(parents=True)
    for name in ("swamp-02.jpg", "landscape-castle.jpg", "grim-altar.jpg", "other.jpg"):
        (story / name).write_bytes(b"x")
    wesnoth = next(s for s in SOURCES if s.package == "wesnoth-1.16-data")
    assert [p.name for p in select_files(wesnoth, root)] == ["other.jpg"]
    # every eval-dev source of MANIFEST.md is named in the exclusion list
    manifest = (Path(__file__).resolve().parents[2] / "shared" / "eval-dev" / "MANIFEST.md")
    if manifest.exists():
        text = manifest.read_text()
        for key in ("astronaut", "coffee", "rocket", "china", "grace_hopper", "swamp-02", "landscape-castle",
                    "grim-altar", "Autumn", "goldfish"):
            assert key in text and any(key in e for e in EVAL_SOURCES), key


def test_every_source_has_a_licence_and_role() -> None:
    for s in SOURCES:
        assert isinstance(s, Source) and s.licence and s.role in ("content", "style") and s.globs
