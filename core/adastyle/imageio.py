"""Reading images safely and converting between PIL/numpy and tensors.

Why one module: every front end (CLI, server, web) must give the same clear error for a missing,
corrupt, empty or oversized image, and must refuse decompression bombs before decoding pixels.
"""
from __future__ import annotations

import io
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from adastyle.errors import UserError

if TYPE_CHECKING:  # torch loads only when tensors are made: file checks run before it (and the model) loads
    import torch

ImageLike = Union[Image.Image, np.ndarray]
DEFAULT_MAX_PIXELS = 100_000_000  # 10000 x 10000; the server sets its own limit
# Formats read, by Pillow's name. Only these are tried, so no other decoder (ICO decoding its
# whole image inside Image.open, EPS calling Ghostscript, ...) ever sees what a client sent.
ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF")
# Every image is checked against our own pixel limit (below, by its header): Pillow's guess at a limit only
# adds a warning or its own wording ("decompression bomb DOS attack") that a user should not see.
warnings.simplefilter("ignore", Image.DecompressionBombWarning)
_PILLOW_PIXELS = re.compile(r"\((\d+) pixels\)")


class ImageError(UserError):
    """An image that cannot be used, with a message fit to show a user."""


class ImageTooLarge(ImageError):
    """An image whose pixel count is over the limit (checked from the header, before decoding)."""


def open_image(source: Union[str, Path, bytes], name: str = "image",
               max_pixels: int = DEFAULT_MAX_PIXELS, short_side: int | None = None) -> Image.Image:
    """Decode a file path or bytes into a loaded PIL image (EXIF orientation applied).

    The size is read from the header and checked before any pixel is decoded. With `short_side`,
    the image is reduced while decoding to no less than that many pixels on its shorter side
    (JPEG decodes at 1/2, 1/4 or 1/8 scale directly; other formats are reduced by a whole factor
    right after decoding), so a huge style image never stays in memory at full size.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = str(path)
        if not path.exists():
            raise ImageError(f"{name}: no such file")
        if path.is_dir():
            raise ImageError(f"{name}: is a directory, not an image")
        data = path.read_bytes()
    else:
        data = bytes(source)
    if not data:
        raise ImageError(f"{name}: empty file")
    im = _open_lazy(data, name)
    w, h = im.size
    if w <= 0 or h <= 0:
        raise ImageError(f"{name}: image has zero size")
    if w * h > max_pixels:
        raise too_large(name, w * h, max_pixels, f"{w}x{h} is ")
    try:
        if short_side and min(w, h) > short_side and im.format == "JPEG":
            factor = min(w, h) / short_side
            im.draft(im.mode if im.mode in ("RGB", "L") else "RGB", (int(w / factor) + 1, int(h / factor) + 1))
        im.load()
        if short_side and min(im.size) >= 2 * short_side:
            if im.mode not in ("RGB", "RGBA", "L", "LA"):
                im = im.convert("RGBA" if "transparency" in im.info or im.mode.endswith("A") else "RGB")
            im = im.reduce(min(im.size) // short_side)
        im = ImageOps.exif_transpose(im)
    except Exception as exc:
        raise ImageError(f"{name}: image data is corrupt or truncated ({exc})") from None
    return im


def too_large(name: str, pixels: int | None, max_pixels: int | None, size: str = "") -> ImageTooLarge:
    """The one message for an image over a pixel limit, whoever noticed it (our check or Pillow's)."""
    what = f"{size}{pixels:,} pixels" if pixels else "too many pixels"
    limit = f"the limit of {max_pixels:,}" if max_pixels else "the limit"
    return ImageTooLarge(f"{name}: {what}, over {limit}; reduce the image first")


def header_size(data: bytes, name: str = "image") -> tuple[int, int]:
    """Width and height from the image header alone (nothing decoded); ImageError when unreadable."""
    with _open_lazy(data, name) as im:
        return im.size


def _open_lazy(data: bytes, name: str) -> Image.Image:
    """The image with its header read and no pixel decoded (allowed formats only)."""
    try:
        return Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as exc:  # over twice Pillow's own limit: its header said how large
        found = _PILLOW_PIXELS.search(str(exc))
        raise too_large(name, int(found.group(1)) if found else None, None) from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image of a format we read "
                         "(PNG, JPEG, WebP, TIFF, BMP or GIF)") from None
    except Exception as exc:
        raise ImageError(f"{name}: cannot read image ({exc})") from None


def to_pil(image: ImageLike) -> Image.Image:
    """Accept PIL or a uint8 numpy array (H, W), (H, W, 3) or (H, W, 4)."""
    if isinstance(image, Image.Image):
        return image
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise ImageError(f"numpy images must be uint8, got {image.dtype}")
        if image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4)):
            return Image.fromarray(image.squeeze(-1) if image.ndim == 3 and image.shape[2] == 1 else image)
        raise ImageError(f"numpy image must be HxW, HxWx3 or HxWx4, got shape {image.shape}")
    raise ImageError(f"expected a PIL image or a numpy array, got {type(image).__name__}")


def split_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """RGB part and the alpha channel (None when the image is opaque by mode)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        return rgba.convert("RGB"), rgba.getchannel("A")
    if image.mode == "RGB":
        return image, None
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(image, dtype=np.float64)
        hi = 65535.0 if arr.max() > 255 else 255.0
        image = Image.fromarray(np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8))
    return image.convert("RGB"), None


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image -> float tensor (1, 3, H, W) in [0, 1]."""
    import torch

    arr = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)


def tensor_to_pil(x: torch.Tensor) -> Image.Image:
    """(1, 3, H, W) float in about [0, 1] -> RGB PIL image (clamped, rounded)."""
    import torch

    arr = x[0].detach().float().clamp(0, 1).mul(255.0).add_(0.5).to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(arr, "RGB")


def mask_to_tensor(mask: Image.Image) -> torch.Tensor:
    """Grayscale mask -> float tensor (1, 1, H, W) in [0, 1] (white = 1)."""
    import torch

    if mask.mode in ("RGBA", "LA"):
        mask = mask.getchannel("A") if mask.mode == "LA" else mask.convert("L")
    arr = np.asarray(mask.convert("L"), dtype=np.uint8)
    return torch.from_numpy(arr.copy())[None, None].float().div_(255.0)
