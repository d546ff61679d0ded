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
    pytest.importorskip("ray.data")
    src = tmp_path / "clip"
    src.mkdir()
    frames = pan_clip(Image.open(EXAMPLES / "content-astronaut.jpg"), 4, (64, 48), 8)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(src / f"f{i}.png")
    # a last frame of another size: rows of one Ray dataset are then of different shapes
    Image.open(EXAMPLES / "content-rocket.jpg").resize((40, 56)).save(src / "f4.png")
    common = [str(src), "--style", str(STYLE), "--sequence", "--stability", "2", "--no-progress", "--device", "cpu"]
    assert main(["batch", *common, "-o", str(tmp_path / "local")]) == 0
    assert main(["batch", *common, "-o", str(tmp_path / "ray"), "--ray", "--workers", "2"]) == 0
    names = [f"f{i}.png" for i in range(5)]
    for name in names:
        a = np.asarray(Image.open(tmp_path / "local" / name), np.int16)
        b = np.asarray(Image.open(tmp_path / "ray" / name), np.int16)
        assert a.shape == b.shape and np.abs(a - b).max() <= 1, name
    # the statistics were smoothed on the driver in both runs: not frame by frame
    assert main(["batch", *common, "--stability", "0", "-o", str(tmp_path / "fbf")]) == 0
    diff = np.abs(np.asarray(Image.open(tmp_path / "fbf" / "f0.png"), np.int16)
                  - np.asarray(Image.open(tmp_path / "ray" / "f0.png"), np.int16)).mean()
    assert diff > 0.5
