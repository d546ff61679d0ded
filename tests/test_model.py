"""The model: encoder weights, AdaIN, decoder shapes, training step, shipped decoder quality."""
from __future__ import annotations

import json

import pytest
import torch
from conftest import EVAL_DEV

from adastyle.model import Decoder, adain, load_decoder, load_encoder, mean_std, weights_dir
from adastyle.train.convert_vgg import reference_input


def test_encoder_layer_shapes_match_conversion_record() -> None:
    ref = json.loads((weights_dir() / "vgg19_reference.json").read_text())
    enc = load_encoder()
    state = enc.state_dict()
    assert {k: list(v.shape) for k, v in state.items()} == ref["shapes"]
    assert state["convs.conv1_1.weight"].shape == (64, 3, 3, 3)
    assert state["convs.conv4_1.weight"].shape == (512, 256, 3, 3)


def test_encoder_reproduces_recorded_statistics() -> None:
    ref = json.loads((weights_dir() / "vgg19_reference.json").read_text())
    with torch.no_grad():
        taps = load_encoder().taps(reference_input())
    for name, t in zip(("relu1_1", "relu2_1", "relu3_1", "relu4_1"), taps):
        assert float(t.mean()) == pytest.approx(ref["taps"][name]["mean"], rel=2e-3)
        assert float(t.std()) == pytest.approx(ref["taps"][name]["std"], rel=2e-3)
    first8 = taps[-1].mean(dim=(0, 2, 3))[:8]
    assert torch.allclose(first8, torch.tensor(ref["relu4_1_channel_mean_first8"]), rtol=5e-3, atol=1e-2)


def test_encoder_activations_have_caffe_vgg_scale() -> None:
    """Unnormalised VGG on a photo: mean relu4_1 activation is in the hundreds (notes: ~404)."""
    from PIL import Image

    from adastyle.imageio import pil_to_tensor

    x = pil_to_tensor(Image.open(EVAL_DEV / "content" / "astronaut.jpg").convert("RGB").resize((256, 256)))
    with torch.no_grad():
        taps = load_encoder().taps(x)
    means = [float(t.mean()) for t in taps]
    assert 5 < means[0] < 100 and 100 < means[3] < 2000


def test_adain_output_statistics_equal_the_style() -> None:
    g = torch.Generator().manual_seed(0)
    content = torch.rand(2, 16, 12, 9, generator=g) * 3 + 1
    style = torch.rand(2, 16, 20, 7, generator=g) * 7 - 2
    out = adain(content, style)
    om, osd = mean_std(out)
    sm, ssd = mean_std(style)
    assert torch.allclose(om, sm, atol=1e-4)
    assert torch.allclose(osd, ssd, atol=1e-3)


def test_a_wrong_weights_file_is_a_user_error_in_our_words(tmp_path) -> None:
    """Not safetensors, absent, another network's, or of other shapes: a WeightsError (a UserError) naming the file."""
    from safetensors.torch import save_file

    from adastyle.errors import UserError
    from adastyle.model import WeightsError

    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    shapes = {k: torch.zeros(1) for k in Decoder().state_dict()}
    save_file(shapes, str(tmp_path / "shapes.safetensors"))
    cases = {junk: "not a decoder weights file", tmp_path / "absent.safetensors": "no such decoder weights file",
             weights_dir() / "vgg19_relu4_1.safetensors": "not an AdaStyle decoder",
             tmp_path / "shapes.safetensors": "not an AdaStyle decoder"}
    for path, needle in cases.items():
        with pytest.raises(WeightsError, match=needle) as caught:
            load_decoder(path)
        assert isinstance(caught.value, UserError) and str(path) in str(caught.value)
        assert "\n" not in str(caught.value)


def test_decoder_upsamples_by_eight() -> None:
    dec = Decoder()
    with torch.no_grad():
        y = dec(torch.rand(1, 512, 5, 7))
    assert y.shape == (1, 3, 40, 56)


def test_odd_sized_content_keeps_its_size(stylizer, style_img) -> None:
    from PIL import Image

    content = Image.new("RGB", (517, 333), (120, 80, 40))
    out = stylizer.stylize(content, [style_img])
    assert out.size == (517, 333)


def test_one_training_step_lowers_the_loss_on_a_fixed_batch() -> None:
    from conftest import EXAMPLES
    from PIL import Image

    from adastyle.imageio import pil_to_tensor
    from adastyle.train.losses import channel_means
    from adastyle.train.trainer import TrainConfig, step_losses

    torch.manual_seed(0)
    enc = load_encoder()
    dec = Decoder()
    x = torch.cat([pil_to_tensor(Image.open(EXAMPLES / f).convert("RGB").resize((48, 48)))
                   for f in ("content-coffee.jpg", "content-rocket.jpg")])
    style = torch.cat([pil_to_tensor(Image.open(EXAMPLES / f).convert("RGB").resize((48, 48)))
                       for f in ("style-castle.jpg", "style-goldfish.jpg")])
    norms = channel_means(enc, [x, style])
    stats = [mean_std(f) for f in enc.taps(style)]
    cfg = TrainConfig(data="", out="")  # the trainer's loss: default style weight and layer weights

    def loss() -> torch.Tensor:  # targets are given afresh: the identity term may write into them
        return step_losses(dec, enc, x, [(m.clone(), sd.clone()) for m, sd in stats], norms, cfg)[0]

    opt = torch.optim.Adam(dec.parameters(), lr=1e-4)  # the trainer's learning rate
    first = loss()
    for _ in range(5):
        value = loss()
        opt.zero_grad()
        value.backward()
        opt.step()
    after = loss()
    assert after.item() < first.item() * 0.9


def test_checkpoint_round_trip_resumes(tmp_path) -> None:
    """A checkpoint holds the decoder, its weight average, Adam moments, normalisers and the step (no pickle)."""
    from adastyle.train.trainer import TrainConfig, load_checkpoint, save_checkpoint

    dec = Decoder()
    opt = torch.optim.Adam(dec.parameters(), lr=1e-4)
    dec(torch.rand(1, 512, 2, 2)).mean().backward()
    opt.step()
    norms = [torch.ones(1, c, 1, 1) for c in (64, 128, 256, 512)]
    path = tmp_path / "ck.safetensors"
    ema = {k: v.detach() * 0.5 for k, v in dec.state_dict().items()}
    save_checkpoint(path, dec, opt, 17, norms, TrainConfig(data="d", out="o"), ema)
    dec2 = Decoder()
    opt2 = torch.optim.Adam(dec2.parameters(), lr=1e-4)
    step, norms2, ema2 = load_checkpoint(path, dec2, opt2, torch.device("cpu"))
    assert step == 17
    assert ema2.keys() == ema.keys() and all(torch.equal(ema[k], ema2[k]) for k in ema)
    assert all(torch.equal(a, b) for a, b in zip(dec.state_dict().values(), dec2.state_dict().values()))
    assert len(opt2.state) == len(list(dec2.parameters()))


@pytest.mark.slow
def test_shipped_decoder_moves_style_statistics_toward_the_style() -> None:
    from adastyle.train.evaluate import evaluate

    result = evaluate(EVAL_DEV, decoder=load_decoder(),
                      pairs=[("astronaut", "castle"), ("coffee", "goldfish")])
    assert result["s"] < 0.5, result
    assert result["c"] < 1.0, result
    assert sum(result["s_share_by_tap"]) == pytest.approx(1.0, abs=1e-3)
    assert 0 < result["inversion"] < 1.0, result  # the decoder misses its AdaIN target by less than the style gap
    # alpha 0 gives the picture back: PSNR against the content over the contents of the pairs
    assert set(result["r_by_content"]) == {"astronaut", "coffee", "china", "grace_hopper", "rocket"}
    assert 14.0 < result["r"] < 60.0, result


def test_style_loss_layer_weights_scale_each_tap() -> None:
    from adastyle.train.losses import style_loss

    torch.manual_seed(0)
    taps = [torch.rand(2, c, 8, 8) for c in (4, 6, 8, 10)]
    stats = [(torch.rand(2, c, 1, 1), torch.rand(2, c, 1, 1)) for c in (4, 6, 8, 10)]
    norms = [torch.full((1, c, 1, 1), 2.0) for c in (4, 6, 8, 10)]
    per_tap = [style_loss(taps, stats, norms, tuple(float(i == k) for i in range(4))) for k in range(4)]
    assert all(t.item() > 0 for t in per_tap)
    assert style_loss(taps, stats, norms).item() == pytest.approx(sum(t.item() for t in per_tap), rel=1e-5)
    weighted = style_loss(taps, stats, norms, (1.0, 1.0, 1.0, 5.0)).item()
    assert weighted == pytest.approx(sum(t.item() for t in per_tap) + 4 * per_tap[3].item(), rel=1e-5)


def test_provenance_records_the_shipped_weights() -> None:
    """Every weights file is named in PROVENANCE.md with its sha256, so the record can never describe other weights."""
    import hashlib

    record = (weights_dir() / "PROVENANCE.md").read_text()
    for name in ("decoder.safetensors", "vgg19_relu4_1.safetensors"):
        digest = hashlib.sha256((weights_dir() / name).read_bytes()).hexdigest()
        assert digest in record, f"{name}: sha256 {digest} is not in PROVENANCE.md"
