"""`adastyle eval`: the metrics of the evaluation sets (eval/sets/*/MANIFEST.md), and a contact sheet to look at.

s = L_s(output, style) / L_s(content, style)  (lower = more stylised)
c = L_c(output, content) / L_c(style, content) (lower = keeps more content)
reported as geometric means over all content x style pairs, alpha 1, native size, fp32 encoder, on the
8-bit output image (what a user gets).
r = mean PSNR (dB) of the alpha-0 output (the content's own relu4_1 decoded, no style) against the content, over
the set's content images: how faithfully the decoder gives back a picture (faces, edges) before any style.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from adastyle.imageio import open_image, pil_to_tensor, tensor_to_pil
from adastyle.model import Decoder, Encoder, adain, load_decoder, load_encoder, mean_std

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


def style_terms(x_taps: list[torch.Tensor], y_taps: list[torch.Tensor]) -> list[float]:
    """The style distance of each tap (relu1_1..relu4_1): mean-squared mean difference + std difference."""
    terms = []
    for a, b in zip(x_taps, y_taps):
        am, asd = mean_std(a)
        bm, bsd = mean_std(b)
        terms.append(float(((am - bm) ** 2).mean() + ((asd - bsd) ** 2).mean()))
    return terms


def style_distance(x_taps: list[torch.Tensor], y_taps: list[torch.Tensor]) -> float:
    return sum(style_terms(x_taps, y_taps))


def content_distance(x_feat: torch.Tensor, y_feat: torch.Tensor) -> float:
    return float(((x_feat.float() - y_feat.float()) ** 2).mean())


@dataclass
class PairScore:
    content: str
    style: str
    s: float
    c: float
    inversion: float = 0.0   # L_c(output, AdaIN target) / L_c(style, content): the decoder's own error


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def pad_to_multiple(x: torch.Tensor, m: int = 8) -> torch.Tensor:
    h, w = x.shape[-2:]
    ph, pw = (-h) % m, (-w) % m
    if ph or pw:
        x = torch.nn.functional.pad(x, (0, pw, 0, ph), mode="reflect")
    return x


@torch.no_grad()
def stylize_plain(encoder: Encoder, decoder: Decoder, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """The reference fp32 path: encode both, AdaIN, decode, crop back to the content's size."""
    h, w = content.shape[-2:]
    out = decoder(adain(encoder(pad_to_multiple(content)), encoder(style)))
    return out[..., :h, :w]


def psnr(a: Image.Image, b: Image.Image) -> float:
    """PSNR in dB of two 8-bit RGB images of the same size (peak 255)."""
    x = pil_to_tensor(a).double() * 255.0
    y = pil_to_tensor(b).double() * 255.0
    mse = float(((x - y) ** 2).mean())
    return 10.0 * math.log10(255.0 ** 2 / max(mse, 1e-12))


@torch.no_grad()
def evaluate(folder: Path, decoder: Decoder | None = None, encoder: Encoder | None = None,
             sheet: Path | None = None, pairs: list[tuple[str, str]] | None = None) -> dict:
    """Score a decoder on folder/content x folder/style; optionally write a contact sheet."""
    encoder = encoder or load_encoder()
    decoder = decoder or load_decoder()
    contents = list_images(folder / "content")
    styles = list_images(folder / "style")
    if not contents or not styles:
        raise FileNotFoundError(f"{folder} needs content/ and style/ folders with images")
    c_img = {p.stem: open_image(p).convert("RGB") for p in contents}
    s_img = {p.stem: open_image(p).convert("RGB") for p in styles}
    c_taps = {k: encoder.taps(pil_to_tensor(v)) for k, v in c_img.items()}
    s_taps = {k: encoder.taps(pil_to_tensor(v)) for k, v in s_img.items()}
    todo = pairs or [(c, s) for c in c_img for s in s_img]
    scores: list[PairScore] = []
    outputs: dict[tuple[str, str], Image.Image] = {}
    tap_sums = [0.0] * 4
    # What stylize_plain would encode for every pair, encoded once per image: the padded content's relu4_1
    # (the style's is s_taps[...][3]).
    c_padded = {k: encoder(pad_to_multiple(pil_to_tensor(v))) for k, v in c_img.items()}
    for cn, sn in todo:
        target = adain(c_padded[cn], s_taps[sn][3])
        out = tensor_to_pil(decoder(target)[..., :c_img[cn].height, :c_img[cn].width])
        outputs[(cn, sn)] = out
        o_taps = encoder.taps(pil_to_tensor(out))
        terms = style_terms(o_taps, s_taps[sn])
        tap_sums = [a + b for a, b in zip(tap_sums, terms)]
        s = sum(terms) / style_distance(c_taps[cn], s_taps[sn])
        gap = content_distance(s_taps[sn][3], c_taps[cn][3])
        c = content_distance(o_taps[3], c_taps[cn][3]) / gap
        h, w = o_taps[3].shape[-2:]
        inversion = content_distance(o_taps[3], target[..., :h, :w]) / gap
        scores.append(PairScore(cn, sn, s, c, inversion))
    # Reconstruction: alpha 0 is the content's own features decoded (what the engine does at alpha 0).
    recon = {cn: tensor_to_pil(decoder(c_padded[cn])[..., :c_img[cn].height, :c_img[cn].width]) for cn in c_img}
    r_by_content = {cn: psnr(recon[cn], c_img[cn]) for cn in c_img}

    def geo(values: list[float]) -> float:
        return math.exp(sum(math.log(max(v, 1e-12)) for v in values) / len(values))

    result = {
        "s": geo([p.s for p in scores]),
        "c": geo([p.c for p in scores]),
        "r": sum(r_by_content.values()) / len(r_by_content),
        "r_by_content": {k: round(v, 2) for k, v in r_by_content.items()},
        # Diagnostics: which tap the style distance comes from, and how far the decoder misses its target.
        "s_share_by_tap": [round(t / sum(tap_sums), 4) for t in tap_sums],
        "inversion": geo([p.inversion for p in scores]),
        "pairs": [p.__dict__ for p in scores],
    }
    if sheet is not None:
        contact_sheet(c_img, s_img, outputs, sheet, recon)
        result["sheet"] = str(sheet)
    return result


def contact_sheet(contents: dict[str, Image.Image], styles: dict[str, Image.Image],
                  outputs: dict[tuple[str, str], Image.Image], path: Path, recon: dict[str, Image.Image] | None = None,
                  cell: int = 160) -> Path:
    """Grid: first row the styles, first column the contents, then (when given) the alpha-0 reconstructions,
    outputs inside. The alpha-0 column shows what the decoder does to a face or an edge before any style."""
    cs, ss = list(contents), list(styles)
    extra = 1 if recon else 0
    sheet = Image.new("RGB", ((len(ss) + 1 + extra) * cell, (len(cs) + 1) * cell), "white")
    draw = ImageDraw.Draw(sheet)

    def put(im: Image.Image, col: int, row: int) -> None:
        thumb = im.copy()
        thumb.thumbnail((cell - 4, cell - 4))
        sheet.paste(thumb, (col * cell + 2, row * cell + 2))

    for j, s in enumerate(ss):
        put(styles[s], j + 1 + extra, 0)
    for i, c in enumerate(cs):
        put(contents[c], 0, i + 1)
        if recon:
            put(recon[c], 1, i + 1)
        for j, s in enumerate(ss):
            if (c, s) in outputs:
                put(outputs[(c, s)], j + 1 + extra, i + 1)
    draw.text((4, 4), "content \\ style", fill="black")
    if recon:
        draw.text((cell + 4, 4), "alpha 0", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path


def format_result(result: dict) -> str:
    return json.dumps({k: v for k, v in result.items() if k != "pairs"}, indent=1)
