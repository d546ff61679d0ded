"""Memory budgets the server keeps whatever clients send: decoded pixels in the queue, and a byte-bounded
least-recently-used store (uploaded styles).

Why: a request may carry several images of up to max_pixels each, and every one stays decoded until
its job ends; without a budget a handful of small requests (PNG compresses flat images a thousandfold)
fill the machine's memory. The pixel budget is taken from the image headers before anything is
decoded, so a request that does not fit is refused (503) having cost almost nothing. The sizes of the
budgets are settings (adastyle.settings.Settings: queue_pixels, style_store_bytes, result_bytes).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")

class PixelBudget:
    """A thread-safe count of decoded pixels held by requests and queued jobs, up to a limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self, pixels: int) -> bool:
        """Reserve `pixels`; False (and nothing taken) when they do not fit."""
        with self._lock:
            if self.used + pixels > self.limit:
                return False
            self.used += pixels
            return True

    def give(self, pixels: int) -> None:
        with self._lock:
            self.used = max(0, self.used - pixels)


class ByteBoundedStore(Generic[V]):
    """Keyed values with a size each; the least recently used go first once the sizes pass `limit`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._items: OrderedDict[str, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: str, value: V, size: int) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.used -= old[1]
            self._items[key] = (value, size)
            self.used += size
            while self.used > self.limit and len(self._items) > 1:
                _, (_, gone) = self._items.popitem(last=False)
                self.used -= gone

    def get(self, key: str) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
