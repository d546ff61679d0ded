"""Training plumbing: resumable runs, the GPU pack, dataset selection that keeps the evaluation sets out,
synthetic styles, the identity term."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from PIL import Image

from adastyle.train.sources import SOURCES, Source


def tiny_dataset(root: Path) -> Path:
    for role, n in (("content", 3), ("style", 2)):
        (root / role).mkdir(parents=True)
        for i in range(n):
            Image.effect_mandelbrot((72, 64), (-2 + i * 0.1, -1.2, 1, 1.2), 60).convert("RGB").save(
                root / role / f"{role}{i}.jpg")
    (root / "manifest.csv").write_text("file,role,package,source,licence\n")
    return root


def tiny_config(data: Path, out: Path, **settings):
    """A run on tiny_dataset: 32 px crops, the loss taps' channel means measured at that size too (the real 256 px
    probe would be most of a test's time), on the CPU; `settings` override (steps, batch, identity ...)."""
    from adastyle.train.trainer import TrainConfig

    return TrainConfig(**{"data": str(data), "out": str(out), "batch": 2, "crop": 32, "probe_side": 32,
                          "device": "cpu", **settings})


def test_training_resumes_from_its_checkpoint(tmp_path) -> None:
    from adastyle.train.trainer import export_decoder, train

    data = tiny_dataset(tmp_path / "data")
    cfg = tiny_config(data, tmp_path / "run", steps=2, ckpt_every=1)
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


def test_a_stopped_run_saves_the_step_it_reached(tmp_path, monkeypatch, caplog) -> None:
    """`kill` during a run ends the current step and writes a checkpoint at it, far from the next scheduled one;
    the handlers are the old ones afterwards."""
    import signal

    from safetensors import safe_open

    from adastyle.train import trainer

    real_anneal = trainer.anneal_factor

    def signal_at_third_step(cfg, done, total, seconds):
        if done == 2:
            signal.raise_signal(signal.SIGTERM)  # what `kill` delivers
        return real_anneal(cfg, done, total, seconds)

    monkeypatch.setattr(trainer, "anneal_factor", signal_at_third_step)
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    data = tiny_dataset(tmp_path / "data")
    cfg = tiny_config(data, tmp_path / "run", steps=1000, ckpt_every=1000)
    ckpt = trainer.train(cfg)
    with safe_open(str(ckpt), "pt") as f:
        assert int(f.metadata()["step"]) == 3
    assert [int(r["step"]) for r in csv.DictReader((tmp_path / "run" / "log.csv").open())] == [1, 2, 3]
    assert "stopped by signal" in caplog.text
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_ctrl_c_asks_a_run_to_stop_as_kill_does() -> None:
    import signal

    from adastyle.train.trainer import stop_on_signal

    with stop_on_signal() as stop:
        assert not stop
        signal.raise_signal(signal.SIGINT)
        assert stop.signal == signal.SIGINT


def test_training_without_a_weight_average_exports_the_raw_weights(tmp_path) -> None:
    from safetensors.torch import load_file

    from adastyle.train.trainer import export_decoder, train

    data = tiny_dataset(tmp_path / "data")
    ckpt = train(tiny_config(data, tmp_path / "run", steps=1, ema=0))
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
    cropped = make_pack(data, tmp_path / "pack2", budget_mb=1, style_crop=32)
    with Image.open(next((cropped / "style").iterdir())) as im:
        assert im.size == (32, 32)   # the centre of the style at its own scale, not the style shrunk
    with Image.open(next((pack / "style").iterdir())) as im:
        assert im.width == im.height  # styles are square crops


@pytest.mark.parametrize("package, folder, names, kept", [
    ("wesnoth-1.16-data", "usr/share/games/wesnoth/1.16/data/core/images/story",   # eval-dev's styles
     ("swamp-02.jpg", "landscape-castle.jpg", "grim-altar.jpg", "other.jpg"), "other.jpg"),
    ("kphotoalbum", "usr/share/kphotoalbum/demo",                                    # eval-wide's portraits
     ("jesper.jpg", "jesper_2.jpg", "new_wave_2.jpg", "skagen.jpg"), "skagen.jpg"),
])
def test_dataset_selection_leaves_out_evaluation_files(tmp_path, package, folder, names, kept) -> None:
    from adastyle.train.data import select_files

    root = tmp_path / "pkg"
    (root / folder).mkdir(parents=True)
    for name in names:
        (root / folder / name).write_bytes(b"x")
    source = next(s for s in SOURCES if s.package == package)
    assert [p.name for p in select_files(source, root)] == [kept]
    # (every eval file named in both MANIFEST.md files: test_every_evaluation_source_is_excluded_from_training)


EVAL_SETS = Path(__file__).resolve().parents[1] / "eval" / "sets"


def manifest_paths(manifest: Path, column: str) -> list[str]:
    """The package paths a MANIFEST.md table names in `column` (a path inside an archive: the part after the arrow)."""
    lines = [line for line in manifest.read_text().splitlines() if line.startswith("|")]
    paths = []
    for header, *rows in [lines[i:] for i, line in enumerate(lines) if column in line]:
        col = [c.strip() for c in header.strip("|").split("|")].index(column)
        for row in rows:
            cells = [c.strip() for c in row.strip("|").split("|")]
            if len(cells) > col and "/" in cells[col] and not set(cells[col]) <= set("-: "):
                paths.append(cells[col].split("→")[-1].strip().split(" ")[0])
    return list(dict.fromkeys(paths))  # a later table's rows follow an earlier header too


def test_every_evaluation_source_is_excluded_from_training() -> None:
    """Both evaluation sets stay held out: each file they were made from matches the exclusion list."""
    from adastyle.train.data import is_eval_file

    wide = manifest_paths(EVAL_SETS / "eval-wide" / "MANIFEST.md", "original path inside the package")
    dev = manifest_paths(EVAL_SETS / "eval-dev" / "MANIFEST.md", "original file")
    assert len(wide) == 14 and len(dev) == 10, (wide, dev)
    for path in wide + dev:
        assert is_eval_file("/cache/unpacked/pkg/" + path.lstrip("/")), path
    # ... and a neighbour of the same package is fair game
    assert not is_eval_file("/cache/usr/share/kphotoalbum/demo/skagen.jpg")
    assert not is_eval_file("/cache/rcc/pak4-textures/textures/gothic_block/blocks15.jpg")


def test_style_sources_are_many_and_the_big_ones_capped() -> None:
    """At least 15 style packages; a package with hundreds of images is capped so that none can give more than
    30% of a 1,500-image set (the built set: 1,699 styles from 20 packages, the largest 25%)."""
    from collections import Counter

    caps: Counter[str] = Counter()
    for s in SOURCES:
        if s.role == "style" and s.limit:
            caps[s.package] += s.limit
    assert len({s.package for s in SOURCES if s.role == "style"}) >= 15
    assert {"stellarium-data", "openclipart-svg", "wesnoth-1.16-data", "openarena-081-textures"} <= set(caps)
    assert max(caps.values()) <= 0.3 * 1500, caps


def test_a_limited_source_takes_a_fixed_fair_sample(tmp_path) -> None:
    from adastyle.train.data import select_files

    root = tmp_path / "pkg"
    (root / "a").mkdir(parents=True)
    for i in range(20):
        (root / "a" / f"{i:02d}.png").write_bytes(b"x")
    src = Source("p", ("a/*.png",), "style", "PD", limit=5)
    first, again = select_files(src, root), select_files(src, root)
    assert first == again and len(first) == 20           # all candidates, in a fixed order ...
    assert [p.name for p in first[:5]] != [f"{i:02d}.png" for i in range(5)]  # ... not the alphabetical head


def test_svg_drawings_are_rendered_on_paper_and_small_textures_tiled(tmp_path) -> None:
    from adastyle.train.data import prepare_image

    svg = tmp_path / "d.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="80">'
                   '<path d="M10 10 L90 70 M10 70 L90 10" stroke="black" stroke-width="4"/></svg>')
    im = prepare_image(svg, 256, "style")
    assert im is not None and min(im.size) == 256
    assert min(im.getpixel((2, 2))) > 230          # paper, not transparency
    assert min(im.convert("L").getextrema()) < 60   # and the ink lines
    tex = tmp_path / "t.png"
    Image.effect_noise((100, 100), 60).convert("RGB").save(tex)
    assert prepare_image(tex, 512, "style") is None                   # too small on its own ...
    assert min(prepare_image(tex, 512, "style", tile=True).size) >= 256  # ... tiled, a texture
    blank = tmp_path / "b.png"
    Image.new("RGB", (400, 400), "white").save(blank)
    assert prepare_image(blank, 512, "style") is None                 # a blank page is no style


def test_synthetic_styles() -> None:
    import random

    from adastyle.train.synthetic import VARIANTS, mix_statistics, pencil_sketch, style_variant

    rng = random.Random(0)
    bands = [Image.effect_mandelbrot((64, 48), (-2 + k * 0.3, -1.2, 1, 1.2), 60) for k in range(3)]
    img = torch.from_numpy(__import__("numpy").array(Image.merge("RGB", bands))).permute(2, 0, 1).contiguous()
    for kind in VARIANTS:
        v = style_variant(img, kind, rng)
        assert v.dtype == torch.uint8 and v.shape == img.shape and not torch.equal(v, img), kind
    grey = style_variant(img, "grey", rng)
    assert torch.equal(grey[0], grey[1]) and torch.equal(grey[1], grey[2])
    assert torch.equal(style_variant(img, "invert", rng), 255 - img)
    # a pencil drawing of a photo with one hard edge: light paper where it is flat, dark strokes on the edge
    photo = torch.full((3, 64, 96), 120, dtype=torch.uint8)
    photo[:, :, 48:] = 220
    sketch = pencil_sketch(photo, random.Random(1)).float().mean(0)
    assert sketch[:, :24].mean() > 200 and sketch[:, 72:].mean() > 200
    assert sketch[:, 44:48].mean() < sketch[:, :24].mean() - 40
    a = [(torch.zeros(1, 2, 1, 1), torch.ones(1, 2, 1, 1))]
    b = [(torch.ones(1, 2, 1, 1), torch.full((1, 2, 1, 1), 3.0))]
    (m, s), = mix_statistics(a, b, 0.25)
    assert torch.allclose(m, torch.full_like(m, 0.75)) and torch.allclose(s, torch.full_like(s, 2.5))


def test_training_with_synthetic_styles_and_the_identity_term(tmp_path) -> None:
    from safetensors import safe_open

    from adastyle.train.trainer import train

    data = tiny_dataset(tmp_path / "data")
    cfg = tiny_config(data, tmp_path / "run", steps=2, batch=4, variants=2, sketches=2, mix=0.5, identity=0.5)
    train(cfg)
    with safe_open(str(tmp_path / "run" / "style_stats.safetensors"), "pt") as f:
        assert int(f.metadata()["count"]) == 2 + 2 * 2 + 2   # styles + variants + sketches
        assert f.get_tensor("3.mean").shape[0] == 2 + 2 * 2 + 2
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert len(rows) == 2 and all(float(r["loss"]) > 0 for r in rows)


def test_identity_loss_is_zero_for_a_perfect_reconstruction() -> None:
    from adastyle.train.trainer import identity_loss

    x = torch.rand(2, 3, 16, 16)
    taps = [torch.rand(2, c, 4, 4) for c in (4, 6, 8, 10)]
    norms = [torch.ones(1, c, 1, 1) for c in (4, 6, 8, 10)]
    assert identity_loss(x[:1], x[:1], taps, taps, norms, 1, 10.0).item() == 0.0
    y = x + 0.1
    assert identity_loss(y[:1], x[:1], taps, taps, norms, 1, 10.0).item() == pytest.approx(10 * 0.01, rel=1e-4)


def test_every_source_has_a_licence_and_role() -> None:
    for s in SOURCES:
        assert isinstance(s, Source) and s.licence and s.role in ("content", "style") and s.globs


def test_training_uses_only_the_cores_it_is_pinned_to():
    """Two runs pinned to one core each must not each start a thread per core of the machine."""
    import subprocess
    import sys

    code = ("import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
            "from adastyle.train.trainer import usable_cpus; print(usable_cpus())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def test_style_statistics_come_from_equal_crops_in_batches() -> None:
    """Every style image, large, small or thin, gives a side x side crop, and batching does not change its
    statistics (within bf16 rounding of the CPU's autocast)."""
    from adastyle.model import load_encoder
    from adastyle.train.trainer import style_crop, style_statistics

    g = torch.Generator().manual_seed(0)
    imgs = [torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g) for h, w in
            ((300, 500), (40, 90), (64, 700), (64, 64))]
    assert all(style_crop(x, 64).shape == (3, 64, 64) for x in imgs)
    assert torch.equal(style_crop(imgs[0], 64), imgs[0][:, 118:182, 218:282])  # a plain centre crop when it fits
    enc = load_encoder()
    together = style_statistics(enc, imgs, torch.device("cpu"), side=64, batch=4)
    alone = [style_statistics(enc, [x], torch.device("cpu"), side=64, batch=1)[0] for x in imgs]
    assert len(together) == 4
    for a, b in zip(together, alone):
        for (ma, sa), (mb, sb) in zip(a, b):
            assert ma.shape == mb.shape and ma.shape[:2] == (1, ma.shape[1])
            assert torch.allclose(ma, mb, rtol=0.05, atol=0.02) and torch.allclose(sa, sb, rtol=0.05, atol=0.02)


def test_decoders_average_with_their_weights(tmp_path, capsys) -> None:
    """`adastyle train average` writes the weighted mean of decoder files (fp16) and refuses what cannot average."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from adastyle.cli import main
    from adastyle.model import Decoder, load_decoder

    torch.manual_seed(0)
    a, b = Decoder().state_dict(), Decoder().state_dict()
    save_file({k: v.half() for k, v in a.items()}, str(tmp_path / "a.safetensors"))
    save_file({k: v.half() for k, v in b.items()}, str(tmp_path / "b.safetensors"))
    out = tmp_path / "mean.safetensors"
    assert main(["train", "average", "--inputs", str(tmp_path / "a.safetensors") + ":1",
                 str(tmp_path / "b.safetensors") + ":3", "--to", str(out)]) == 0
    mean = load_file(str(out))
    for k in a:
        want = 0.25 * a[k].half().float() + 0.75 * b[k].half().float()
        assert mean[k].dtype == torch.float16 and torch.allclose(mean[k].float(), want, atol=2e-3), k
    with safe_open(str(out), "pt") as f:
        assert f.metadata()["averaged"] == "a.safetensors:0.250, b.safetensors:0.750"
    load_decoder(out)  # loads like any shipped decoder
    save_file({"other.weight": torch.zeros(3)}, str(tmp_path / "other.safetensors"))
    capsys.readouterr()
    assert main(["train", "average", "--inputs", str(tmp_path / "a.safetensors"),
                 str(tmp_path / "other.safetensors"), "--to", str(tmp_path / "x.safetensors")]) == 2
    assert "layers differ" in capsys.readouterr().err
    assert main(["train", "average", "--inputs", str(tmp_path / "a.safetensors"),
                 "--to", str(tmp_path / "x.safetensors")]) == 2
    assert "at least two" in capsys.readouterr().err
    assert main(["train", "average", "--inputs", str(tmp_path / "a.safetensors"), str(tmp_path / "nope.safetensors"),
                 "--to", str(tmp_path / "x.safetensors")]) == 2
    assert "nope.safetensors" in capsys.readouterr().err
    assert not (tmp_path / "x.safetensors").exists()


def test_decoders_average_stage_by_stage(tmp_path, capsys) -> None:
    """A weight per stage mixes each stage of the decoder with its own shares (0 takes a stage wholly from the
    other decoder), records them, and refuses a stage left out, a stage that is none, or a stage nobody weighs."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from adastyle.cli import main
    from adastyle.model import Decoder
    from adastyle.train.average import STAGES, parse_weighted

    torch.manual_seed(0)
    a, b = Decoder().state_dict(), Decoder().state_dict()
    paths = [tmp_path / "a.safetensors", tmp_path / "b.safetensors"]
    for path, tensors in zip(paths, (a, b)):
        save_file({k: v.half() for k, v in tensors.items()}, str(path))
    shares = {"conv4": 0.5, "conv3": 0.25, "conv2": 0.0, "conv1": 1.0}  # b's share
    spec_a = str(paths[0]) + ":" + ",".join(f"{s}={1 - w}" for s, w in shares.items())
    spec_b = str(paths[1]) + ":" + ",".join(f"{s}={w}" for s, w in shares.items())
    out = tmp_path / "staged.safetensors"
    assert main(["train", "average", "--inputs", spec_a, spec_b, "--to", str(out)]) == 0
    mean = load_file(str(out))
    seen = set()
    for k in a:
        stage = k.split(".")[1].split("_")[0]
        seen.add(stage)
        want = (1 - shares[stage]) * a[k].half().float() + shares[stage] * b[k].half().float()
        assert torch.allclose(mean[k].float(), want, atol=2e-3), k
    assert seen == set(STAGES)
    with safe_open(str(out), "pt") as f:
        assert f.metadata()["averaged"] == ("a.safetensors:conv4=0.500,conv3=0.750,conv2=1.000,conv1=0.000, "
                                            "b.safetensors:conv4=0.500,conv3=0.250,conv2=0.000,conv1=1.000")
    assert parse_weighted("d.safetensors:2") == (Path("d.safetensors"), 2.0)
    assert parse_weighted("C:\\runs\\d.safetensors") == (Path("C:\\runs\\d.safetensors"), 1.0)
    colon = tmp_path / "a:b.safetensors"  # a file whose name holds a colon is a path, not a weight "b.safetensors"
    colon.write_bytes(paths[0].read_bytes())
    assert parse_weighted(str(colon)) == (colon, 1.0)
    assert parse_weighted(str(colon) + ":0.5") == (colon, 0.5)
    for bad, needle in [(str(paths[1]) + ":conv4=1,conv3=1,conv2=1", "missing conv1"),
                        (str(paths[1]) + ":conv4=1,conv3=1,conv2=1,conv1=1,conv9=1", "not a decoder stage"),
                        (str(paths[1]) + ":conv4=1,conv3=1,conv2=1,conv1=-1", "0 or more"),
                        (str(paths[1]) + ":x", "not a number")]:
        capsys.readouterr()
        assert main(["train", "average", "--inputs", str(paths[0]), bad, "--to", str(tmp_path / "x.safetensors")]) == 2
        assert needle in capsys.readouterr().err, bad
    zero = ":conv4=1,conv3=1,conv2=0,conv1=1"
    assert main(["train", "average", "--inputs", str(paths[0]) + zero, str(paths[1]) + zero,
                 "--to", str(tmp_path / "x.safetensors")]) == 2
    assert "weighs 0 in stage conv2" in capsys.readouterr().err
    assert not (tmp_path / "x.safetensors").exists()


def test_balancing_weights_equalise_each_items_share_of_the_style_loss() -> None:
    from adastyle.train.losses import balancing_weights, style_loss, style_loss_per_item, style_scale

    scale = torch.tensor([1.0, 30.0, 0.0, 100.0])
    keep = torch.tensor([True, True, False, True])
    w = balancing_weights(scale, keep, limit=5.0)
    ref = (1.0 + 30.0 + 100.0) / 3
    assert w[2] == 1.0                                   # an identity item keeps its weight
    assert w[0] == pytest.approx(5.0)                    # clipped at the limit
    assert w[1] == pytest.approx(ref / 30.0) and w[3] == pytest.approx(ref / 100.0)
    assert not w.requires_grad
    # the per-item loss averages to the batch loss, and a style's magnitude is its own mean square
    taps = [torch.rand(3, c, 4, 4) for c in (4, 6, 8, 10)]
    stats = [(torch.rand(3, c, 1, 1), torch.rand(3, c, 1, 1)) for c in (4, 6, 8, 10)]
    norms = [torch.full((1, c, 1, 1), 2.0) for c in (4, 6, 8, 10)]
    per_item = style_loss_per_item(taps, stats, norms)
    assert per_item.shape == (3,)
    assert per_item.mean().item() == pytest.approx(style_loss(taps, stats, norms).item(), rel=1e-5)
    zero = [(torch.zeros_like(m), torch.zeros_like(s)) for m, s in stats]
    assert torch.allclose(style_scale(stats, norms), style_loss_per_item(
        [torch.zeros(3, c, 4, 4) for c in (4, 6, 8, 10)], stats, norms), rtol=1e-2)  # std of 0 is sqrt(eps)
    assert torch.all(style_scale(zero, norms) == 0)


@pytest.mark.parametrize("style_norm", ["style", "pair"])
def test_training_with_normalised_style_loss_and_painted_identity_items(tmp_path, style_norm) -> None:
    from adastyle.train.trainer import train

    data = tiny_dataset(tmp_path / "data")
    cfg = tiny_config(data, tmp_path / "run", steps=2, batch=4, identity=0.5, identity_art=1.0,
                      style_norm=style_norm)
    train(cfg)
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert len(rows) == 2 and all(float(r["style"]) > 0 and float(r["grad_norm"]) > 0 for r in rows)


def test_photos_inside_a_theme_file_and_group_photos_cut_into_patches(tmp_path) -> None:
    import io

    from adastyle.train.data import cut_patches, largest_jpeg

    def jpeg(size: tuple[int, int], colour: str) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", size, colour).save(buf, "JPEG")
        return buf.getvalue()

    blob = b"EDJ\x00" + jpeg((64, 32), "red") + b"\xff\xd8\xffnoise" + jpeg((300, 240), "blue") + b"tail"
    im = largest_jpeg(blob)
    assert im.size == (300, 240) and im.getpixel((5, 5))[2] > 200
    with pytest.raises(ValueError):
        largest_jpeg(b"no image here")
    patches = cut_patches(Image.new("RGB", (1000, 600)), 400)
    assert len(patches) == 4 * 2 and all(p.size == (400, 400) for p in patches)   # half a side apart
    assert len(cut_patches(Image.new("RGB", (300, 300)), 400)) == 1


def test_style_statistics_resume_where_a_killed_run_stopped(tmp_path, monkeypatch) -> None:
    from adastyle.model import load_encoder
    from adastyle.train import trainer

    encoder = load_encoder()
    images = [torch.randint(0, 255, (3, 40, 48), dtype=torch.uint8) for _ in range(5)]
    path = tmp_path / "stats.safetensors"
    whole = trainer.style_statistics(encoder, images, torch.device("cpu"), side=32)
    calls = []
    real = trainer.style_statistics

    def killed_after_two(enc, imgs, dev, side):
        calls.append(len(imgs))
        if len(calls) > 2:
            raise KeyboardInterrupt
        return real(enc, imgs, dev, side)

    monkeypatch.setattr(trainer, "style_statistics", killed_after_two)
    with pytest.raises(KeyboardInterrupt):
        trainer.cached_style_statistics(path, encoder, images, torch.device("cpu"), "k", 32, save_every=2)
    calls.clear()
    monkeypatch.setattr(trainer, "style_statistics", lambda *a: calls.append(len(a[1])) or real(*a))
    stats = trainer.cached_style_statistics(path, encoder, images, torch.device("cpu"), "k", 32, save_every=2)
    assert calls == [1]                     # only the fifth image was measured again
    for got, want in zip(stats, whole):
        for (gm, gs), (wm, ws) in zip(got, want):
            assert torch.allclose(gm, wm, rtol=1e-3, atol=1e-3) and torch.allclose(gs, ws, rtol=1e-3, atol=1e-3)
    calls.clear()
    trainer.cached_style_statistics(path, encoder, images, torch.device("cpu"), "other", 32, save_every=2)
    assert calls == [2, 2, 1]               # another pool is measured anew
