"""Admission: what an image costs the server, charged before any pixel of it is decoded.

Why one path: the API's jobs, its sequences and the web page all hold decoded pixels while their jobs
wait, and the engine works on a *working* image whose size is not the file's (stroke scale, then at
least MIN_SIDE pixels across; styles at their style size). Each image is sized from its header (on a
small pool of its own, never on the event loop), refused when it is too thin (422) or when the file or
its working size is over the limit (413), and its decoded pixels plus any working image of another
size are taken from the server's PixelBudget (503 when they do not fit). The pixels pass to the job
and are given back when it ends (JobQueue._finish), or at once when the request fails.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from adastyle.imageio import ImageError, ImageTooLarge, header_size
from adastyle.request import ShapeError, StylizeRequest, check_shape, style_work_size
from adastyle.server.budget import PixelBudget
from adastyle.server.errors import ApiError

# Header reads (and hashes) run here: a header can take seconds to reach (a PNG of millions of empty
# chunks before its pixels), and two threads bound how many such reads run at once.
HEADERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="adastyle-header")


async def off_loop_headers(fn, *args, **kwargs):
    """Run fn on the header pool."""
    return await asyncio.get_running_loop().run_in_executor(HEADERS, partial(fn, *args, **kwargs))


class Reservation:
    """The pixels one request has taken from the budget so far (all given back if it fails)."""

    def __init__(self, budget: PixelBudget, retry_after: int) -> None:
        self.budget = budget
        self.retry_after = retry_after
        self.pixels = 0

    def take(self, pixels: int, name: str) -> None:
        if pixels > self.budget.limit:
            raise ApiError(413, "image_too_large", f"{name}: {pixels:,} pixels is over the server's budget of "
                                                   f"{self.budget.limit:,} decoded pixels for all queued jobs")
        if not self.budget.take(pixels):
            raise ApiError(503, "busy", f"{name}: the queued jobs hold {self.budget.used:,} of the server's "
                                        f"{self.budget.limit:,} decoded pixels; retry shortly",
                           {"Retry-After": str(self.retry_after)})
        self.pixels += pixels

    def give(self, pixels: int) -> None:
        pixels = max(0, min(pixels, self.pixels))
        self.budget.give(pixels)
        self.pixels -= pixels

    def keep_only(self, pixels: int) -> None:
        """Give back everything over `pixels` (what the job goes on holding)."""
        self.give(self.pixels - pixels)

    def settle(self, pixels: int, name: str) -> None:
        """Hold exactly `pixels`: give back what is over, take what is missing (a 503 when it does not fit)."""
        if pixels < self.pixels:
            self.give(self.pixels - pixels)
        elif pixels > self.pixels:
            self.take(pixels - self.pixels, name)

    def hand_over(self) -> int:
        """The pixels, now the job's (JobQueue gives them back when it ends); nothing is left here."""
        pixels, self.pixels = self.pixels, 0
        return pixels

    def release(self) -> None:
        self.give(self.pixels)


def request_pixels(request: StylizeRequest) -> int:
    """What a built request holds while it waits, as admission counts it: its decoded images, and the working
    images the engine makes of another size (the content at its working size, each style at its style size)."""
    content, mask = request.content.size, request.mask.size if request.mask is not None else None
    pixels = content[0] * content[1] + (mask[0] * mask[1] if mask else 0)
    work = request.work_size
    pixels += work[0] * work[1] if work != content else 0
    for style in request.options.styles:
        pixels += style.width * style.height
        work = style_work_size(style.size, request.options.style_size)
        pixels += work[0] * work[1] if work != style.size else 0
    return pixels


def admit(reservation: Reservation, size: tuple[int, int], name: str, max_pixels: int,
          held: int | None = None, work: tuple[int, int] | None = None) -> int:
    """Check an image of `size` and take its pixels: `held` decoded pixels (default: all of `size`) and the
    working image `work` when it is another image than the decoded one. Returns the pixels taken."""
    w, h = size
    if w < 1 or h < 1:
        raise ApiError(400, "invalid_image", f"{name}: image has zero size")
    check_api_shape(size, name)
    if w * h > max_pixels:
        raise ApiError(413, "image_too_large", f"{name}: {w}x{h} is {w * h:,} pixels, over the limit of "
                                               f"{max_pixels:,}")
    pixels = w * h if held is None else held
    if work is not None and work != size:
        if work[0] * work[1] > max_pixels:
            raise ApiError(413, "image_too_large", f"{name}: the working size {work[0]}x{work[1]} (stroke scale, at "
                                                   f"least 32 pixels across) is {work[0] * work[1]:,} pixels, over "
                                                   f"the limit of {max_pixels:,}")
        pixels += work[0] * work[1]
    reservation.take(pixels, name)
    return pixels


def check_api_shape(size: tuple[int, int], name: str) -> None:
    """request.check_shape as the API's 422."""
    try:
        check_shape(size, name)
    except ShapeError as exc:
        raise ApiError(422, "image_too_thin", exc.message) from None


def checked_header_size(data: bytes, name: str) -> tuple[int, int]:
    """Width and height of an encoded image by its header (nothing decoded), or a 4xx."""
    if not data:
        raise ApiError(400, "invalid_image", f"{name}: empty file")
    try:
        return header_size(data, name)
    except ImageTooLarge as exc:
        raise ApiError(413, "image_too_large", str(exc)) from None
    except ImageError as exc:
        raise ApiError(400, "invalid_image", str(exc)) from None
