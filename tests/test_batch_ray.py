"""`adastyle batch --ray`: a local Ray instance of 2 workers gives the frames of the single-process run."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import EXAMPLES
from PIL import Image

from adastyle.batch.flicker import pan_clip
from adastyle.cli import main

STYLE = EXAMPLES / "style-castle.jpg"


def test_without_ray_the_command_says_how_to_install_it(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    Image.new("RGB", (32, 32), "red").save(tmp_path / "a.png")
    rc = main(["batch", str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), "--style", str(STYLE), "--ray"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert 'pip install -e ".[ray]"' in err[0]


def test_an_actor_sends_statistics_as_arrays_and_a_failed_frame_as_its_line() -> None:
    """What crosses Ray's object store (no cluster needed to check it): plain arrays for statistics, and a failed
    frame as a FrameOutcome with the one error policy's line; both survive pickling."""
    import pickle

    from adastyle.batch.ray_backend import RayFrameActor
    from adastyle.request import StyleOptions

    options = StyleOptions(np.asarray(Image.open(STYLE).convert("RGB")), mask=Image.new("L", (64, 48), 255))
    actor = RayFrameActor(pickle.loads(pickle.dumps(options)), "cpu", True, 0)
    good = np.asarray(Image.open(EXAMPLES / "content-astronaut.jpg").convert("RGB").resize((64, 48)))
    (ok, _), (failed, _) = actor.measure(good), actor.measure(np.zeros((30, 90, 3), np.uint8))
    ok, failed = pickle.loads(pickle.dumps(ok)), pickle.loads(pickle.dumps(failed))
    assert set(ok.value) >= {"feat_mean", "feat_std"} and ok.error is None
    assert failed.value is None and "mask is 64x48 but the content is 90x30" in failed.error
    out, _ = actor.stylize(good, ok.value)
    assert out.error is None and out.value.shape == (48, 64, 3)


@pytest.mark.slow
def test_two_ray_workers_give_the_frames_of_a_local_run(tmp_path) -> None:
    """Both chains on (the defaults). Each actor runs the feature chain over its run of consecutive frames (a
    chunk of 5 frames: 0-2 on one actor, 3-4 on the other), so the first run's frames are the local run's; frame 3
    starts that chain afresh, and the pixel chain on the driver still makes it agree with frame 2."""
    pytest.importorskip("ray.data")
    from adastyle.coherence import FlickerMeter

    src = tmp_path / "clip"
    src.mkdir()
    frames = pan_clip(Image.open(EXAMPLES / "content-astronaut.jpg"), 4, (128, 96), 3)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(src / f"f{i}.png")
    # a last frame of another size: rows of one Ray dataset are then of different shapes
    Image.open(EXAMPLES / "content-rocket.jpg").resize((40, 56)).save(src / "f4.png")
    common = [str(src), "--style", str(STYLE), "--sequence", "--stability", "2", "--no-progress", "--device", "cpu"]
    assert main(["batch", *common, "-o", str(tmp_path / "local")]) == 0
    assert main(["batch", *common, "-o", str(tmp_path / "ray"), "--ray", "--workers", "2"]) == 0
    read = lambda run, i: np.asarray(Image.open(tmp_path / run / f"f{i}.png"), np.int16)  # noqa: E731
    for i in (0, 1, 2, 4):  # the first actor's run, and the frame of another size (both chains start afresh)
        a, b = read("local", i), read("ray", i)
        assert a.shape == b.shape and np.abs(a - b).max() <= 1, i
    assert np.abs(read("local", 3) - read("ray", 3)).max() > 1, "the second actor carried a target it never had"
    # the statistics were smoothed on the driver in both runs: not frame by frame
    assert main(["batch", *common, "--stability", "0", "--coherence", "0", "--coherence-features", "0",
                 "-o", str(tmp_path / "fbf")]) == 0
    assert np.abs(read("fbf", 0) - read("ray", 0)).mean() > 0.5
    # across the actors' border the pixel chain keeps the frames together
    border = {}
    for run in ("ray", "fbf"):
        meter = FlickerMeter()
        for i in (2, 3):
            meter.add(frames[i], read(run, i).astype(np.uint8))
        border[run] = meter.output_error
    assert border["ray"] < 0.5 * border["fbf"], border
