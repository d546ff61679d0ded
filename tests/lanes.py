"""Which lane a test runs in: `slow` when it starts a real server, a CLI or another process, or a browser, or
runs the model (the engine on the CPU takes seconds per picture); `browser` when it drives Chromium.
conftest.py marks every collected test by these rules, so `pytest -m "not slow"` is the unit lane without
anyone remembering to mark a new test.

How a test is read: the source of the test function, of every fixture it uses, and of the functions of the
test suite these name (followed a few calls deep, e.g. a `run_cli` helper that calls subprocess.run or a
`server` fixture that calls start_server). Functions outside tests/ (the product's code) are not followed:
calling the product in-process is what the unit lane is for.
"""
from __future__ import annotations

import inspect
import re
import types
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# What starts another process: the real server, the CLI, a build, a real GIMP or Krita in their chroot.
SLOW_SIGNS = ("start_server(", "subprocess.run(", "subprocess.Popen(", "subprocess.check_output(",
              "subprocess.check_call(", "chroot.sh")
BROWSER_SIGNS = ("chromium.launch(", "sync_playwright")  # headless Chromium (Playwright)
# What runs the model in-process: the engine (or the `stylizer` fixture), the batch backend, training (its loop,
# an optimiser step), a CLI command that stylises, evaluates or trains, called as a function.
MODEL = re.compile(r"\bStylizer\(|\bstylizer(_fp32)?\b|\bLocalBackend\(|\btrain\(|\btorch\.optim\.|"
                   r"\bmain\(\[\s*\"(batch|stylize|eval|train)\"")
DEPTH = 4  # calls followed from a test or fixture


def lanes_of_source(source: str) -> set[str]:
    """The marks a piece of test code calls for by itself: browser (also slow), slow, or none."""
    if any(sign in source for sign in BROWSER_SIGNS):
        return {"browser", "slow"}
    return {"slow"} if any(sign in source for sign in SLOW_SIGNS) or MODEL.search(source) else set()


def _in_tests(fn: Callable) -> bool:
    try:
        return TESTS in Path(inspect.getfile(fn)).resolve().parents
    except TypeError:  # a builtin
        return False


@lru_cache(maxsize=None)
def _source(fn: Callable) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


def _names(code: types.CodeType) -> Iterator[str]:
    """The global names a function's code (and the code nested in it) uses."""
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


def reached(fn: Callable, depth: int = DEPTH) -> Iterator[Callable]:
    """`fn` and the test-suite functions it calls, `depth` calls deep."""
    seen: set[Callable] = set()
    todo = [(inspect.unwrap(fn), depth)]
    while todo:
        f, left = todo.pop()
        if f in seen or not _in_tests(f):
            continue
        seen.add(f)
        yield f
        code, scope = getattr(f, "__code__", None), getattr(f, "__globals__", {})
        if code is None or left == 0:
            continue
        for name in set(_names(code)):
            target = scope.get(name)
            if isinstance(target, types.FunctionType):
                todo.append((inspect.unwrap(target), left - 1))


def lanes(functions: Iterable[Callable]) -> set[str]:
    """The marks a test calls for: those of its own function and fixtures, and of what they call."""
    marks: set[str] = set()
    for fn in functions:
        for f in reached(fn):
            marks |= lanes_of_source(_source(f))
    return marks
