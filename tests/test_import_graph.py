"""The import graph: a request flows one way, front end -> StylizeRequest -> queue -> engine -> model.

Every import counts, also those inside functions (a lazy import is still a dependency) and relative ones;
the page in /web is part of the graph as `adastyle.web`, the plug-ins as `plugins.<host>.<module>`. Every
module has a layer, and no import points up. Run this file directly to print the layers.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOTS = {"adastyle": REPO / "core" / "adastyle", "adastyle.web": REPO / "web",
         "adastyle_plugin": REPO / "core" / "adastyle_plugin", "plugins": REPO / "plugins"}

# Every module has its place; lower layers never import higher ones. An entry names one module, or, ending in
# ".*", a package and every module under it; the most specific entry wins. A module no entry names fails the
# test: a new module is placed here when it is written.
# The plug-ins run inside GIMP and Krita, not beside the core: they import the toolkit (adastyle_plugin) only.
# The page (adastyle.web) is a front end above the server: it mounts itself on the server's app through a hook,
# so nothing in adastyle.server may import it. `adastyle batch` drives the engine from outside the server.
# adastyle.train (the trainer) sits beside the engine on the model.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("plug-ins", ("plugins.*",)),
    ("front ends", ("adastyle", "adastyle.cli", "adastyle.cli_args", "adastyle.cli_batch", "adastyle.cli_server",
                    "adastyle.library.cli", "adastyle.web.*", "adastyle.install", "adastyle.doctor",
                    "adastyle.hosts")),
    ("batch", ("adastyle.batch.*",)),
    ("server", ("adastyle.server.*", "adastyle.library.*")),
    ("queue", ("adastyle.server.jobs", "adastyle.server.budget", "adastyle.server.security",
               "adastyle.server.errors")),
    ("engine", ("adastyle.engine", "adastyle.live_canvas", "adastyle.tile_job", "adastyle.work_image",
                "adastyle.tiling", "adastyle.masks",
                "adastyle.device", "adastyle.train.*", "adastyle.sequence")),
    ("request", ("adastyle.request", "adastyle.imageio")),
    ("model", ("adastyle.model", "adastyle.adain", "adastyle.content_stats", "adastyle.stability",
               "adastyle.coherence", "adastyle.feature_coherence", "adastyle.color")),
    ("base", ("adastyle.errors", "adastyle.config", "adastyle.settings", "adastyle.device_names", "adastyle_plugin.*")),
]


class Unplaced(LookupError):
    """A module that no entry of LAYERS places."""


def module_name(path: Path) -> str:
    for root, folder in ROOTS.items():
        if path.is_relative_to(folder):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            return ".".join([root, *parts])
    raise ValueError(path)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _resolve(target: str, names: set[str], root: str = "") -> str | None:
    """The project module `target` names (or the module it is in: `pkg.mod.func` -> `pkg.mod`); with a root, only
    modules under it."""
    while target and target not in names:
        target = target.rpartition(".")[0]
    if not target or (root and not target.startswith(root + ".")):
        return None
    return target


def _search_roots(me: str) -> list[str]:
    """Where a plug-in's absolute imports are looked for first: its own folder (GIMP puts a plug-in's folder on the
    path) and its host's plug-in folder (Krita imports `adastyle_krita.*` from pykrita); then the toolkit."""
    if not me.startswith("plugins."):
        return []
    parts = me.split(".")
    return [".".join(parts[:-1]), ".".join(parts[:2])]


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports anywhere in its body (relative imports resolved too)."""
    files = [p for folder in ROOTS.values() for p in folder.rglob("*.py")]
    names = {module_name(p) for p in files}
    graph: dict[str, set[str]] = {}
    for path in files:
        me = module_name(path)
        package = me if path.name == "__init__.py" else me.rpartition(".")[0]
        deps: set[str] = set()
        tree = ast.parse(path.read_text())
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and _is_type_checking(block.test)
                       for stmt in block.body for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if id(node) in typing_only:  # `if TYPE_CHECKING:` imports are for type hints, not run
                continue
            relative = isinstance(node, ast.ImportFrom) and node.level > 0
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif relative:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{base}.{node.module}" if node.module else base
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for t in targets:
                roots = [] if relative else _search_roots(me)
                found = next((m for root in roots if (m := _resolve(f"{root}.{t}", names, root))), None)
                found = found or _resolve(t, names)
                if found and found != me and not (found == "adastyle" and me.startswith("adastyle.")):
                    deps.add(found)
        graph[me] = deps
    return graph


def _matches(module: str, entry: str) -> bool:
    if entry.endswith(".*"):
        package = entry[:-2]
        return module == package or module.startswith(package + ".")
    return module == entry


def layer_of(module: str) -> int:
    """The layer of the most specific entry naming `module` (an exact name beats a package, a deeper package a
    shallower one); Unplaced when none does."""
    best: tuple[int, int] | None = None  # (specificity, layer)
    for i, (_, entries) in enumerate(LAYERS):
        for entry in entries:
            if _matches(module, entry):
                rank = len(entry) + (0 if entry.endswith(".*") else 1000)
                if best is None or rank > best[0]:
                    best = (rank, i)
    if best is None:
        raise Unplaced(f"{module} has no layer: place it in LAYERS ({Path(__file__).name})")
    return best[1]


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return [(m, d) for m, deps in graph.items() for d in deps if layer_of(d) < layer_of(m)]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state and (found := visit(d)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_cycles_including_lazy_imports_and_the_page() -> None:
    graph = import_graph()
    assert {"adastyle.web", "adastyle.web.page", "adastyle.web.upload_guard", "adastyle.request"} <= set(graph)
    assert find_cycle(graph) is None, find_cycle(graph)


def test_find_cycle_sees_a_cycle_through_the_page() -> None:
    """The check itself: the old lazy mount (app -> page -> app's module) is a cycle it reports."""
    graph = {m: set(d) for m, d in import_graph().items()}
    graph["adastyle.server.app"].add("adastyle.web.page")
    graph["adastyle.web.page"].add("adastyle.server.app")
    assert find_cycle(graph) is not None
    assert layer_of("adastyle.web.page") < layer_of("adastyle.server.app"), "app -> page alone would point up"


def test_the_server_does_not_know_the_page() -> None:
    """The server mounts the page through a hook given by who starts it (the CLI's serve), never by import."""
    graph = import_graph()
    server_modules = [m for m in graph if m == "adastyle.server" or m.startswith("adastyle.server.")]
    assert "adastyle.server.app" in server_modules and "adastyle.server.run" in server_modules
    for m in server_modules:
        assert not any(d.startswith("adastyle.web") for d in graph[m]), (m, graph[m])
    assert "adastyle.web.page" in graph["adastyle.cli_server"], "the CLI's serve gives the server the page's hook"


def test_every_module_is_placed() -> None:
    """No default layer: a module nobody placed fails here, plug-ins and the toolkit included."""
    graph = import_graph()
    unplaced = []
    for m in graph:
        try:
            layer_of(m)
        except Unplaced:
            unplaced.append(m)
    assert unplaced == [], f"modules without a layer (add them to LAYERS): {unplaced}"
    assert {"plugins.krita.adastyle_krita.logic", "adastyle_plugin.http", "adastyle.stability"} <= set(graph)
    assert any(m.startswith("plugins.gimp.") for m in graph), "the GIMP plug-in is in the graph"
    placed = {m for m in graph if layer_of(m) > 0}
    assert {"adastyle.request", "adastyle.server.jobs", "adastyle.engine", "adastyle.model"} <= placed


def test_an_unplaced_module_and_an_upward_import_are_caught() -> None:
    """The checks themselves: a made-up module has no layer; a model module importing the engine points up."""
    with pytest.raises(Unplaced):
        layer_of("adastyle.somewhere_new")
    with pytest.raises(Unplaced):
        layer_of("adastyle_pluginx")  # a package entry places its own modules, not a name that starts the same
    assert layer_of("adastyle.server.jobs") > layer_of("adastyle.server.app"), "an exact entry beats its package"
    graph = {m: set(d) for m, d in import_graph().items()}
    graph["adastyle.stability"].add("adastyle.engine")
    assert ("adastyle.stability", "adastyle.engine") in upward_imports(graph)


def test_the_plugins_import_only_the_toolkit_and_themselves() -> None:
    """GIMP and Krita run the plug-ins with their own Python: the core package is not there to import."""
    graph = import_graph()
    plugin_modules = [m for m in graph if m.startswith("plugins.")]
    krita = [m for m in plugin_modules if m.startswith("plugins.krita.")]
    assert any(d.startswith("plugins.krita.") for m in krita for d in graph[m]), "relative imports are followed"
    for m in plugin_modules:
        host = ".".join(m.split(".")[:2])
        wrong = {d for d in graph[m] if not d.startswith(("adastyle_plugin", host + "."))}
        assert not wrong, (m, wrong)
    assert any("adastyle_plugin.rules" in graph[m] for m in plugin_modules if m.startswith("plugins.gimp."))


def test_sequences_are_the_cores() -> None:
    """The stability function sits beside the content statistics; nothing but the batch command needs the batch
    package (the server's sequence jobs run the core's sequence runner)."""
    graph = import_graph()
    assert "adastyle.stability" in graph["adastyle.sequence"] and "adastyle.stability" in graph["adastyle.batch.job"]
    users = {m for m, deps in graph.items() if not m.startswith("adastyle.batch")
             and any(d.startswith("adastyle.batch") for d in deps)}
    assert users == {"adastyle.cli_batch"}, users


def test_imports_only_point_down_the_layers() -> None:
    upward = upward_imports(import_graph())
    assert upward == [], f"imports up the layers (see LAYERS in {Path(__file__).name}): {upward}"


def test_the_request_path_in_order() -> None:
    """front end -> StylizeRequest / its rules -> engine -> model, and never back."""
    graph = import_graph()
    assert "adastyle.request" in graph["adastyle.server.forms"] and "adastyle.request" in graph["adastyle.cli"]
    assert "adastyle.request" in graph["adastyle.web.page"], "the page builds the request too"
    assert "adastyle.request" in graph["adastyle.server.jobs"], "the queue carries the request"
    assert "adastyle.server.jobs" in graph["adastyle.server.app"] and "adastyle.server.jobs" in graph["adastyle.web.page"]
    assert not graph["adastyle.server.jobs"] & {"adastyle.engine", "adastyle.model"}, "the Stylizer is handed in"
    for lower in ("adastyle.engine", "adastyle.model", "adastyle.adain"):
        assert not any(d.startswith(("adastyle.server", "adastyle.web", "adastyle.cli")) for d in graph[lower]), lower
    assert not graph["adastyle.model"] & {"adastyle.request", "adastyle.engine"}, graph["adastyle.model"]
    assert "adastyle.request" in graph["adastyle.engine"] and "adastyle.model" in graph["adastyle.engine"]
    assert not any(d.startswith(("adastyle.web", "adastyle.server.app", "adastyle.server.forms"))
                   for d in graph["adastyle.server.jobs"]), "the queue knows no front end"
    request_deps = graph["adastyle.request"]
    assert not request_deps & {"adastyle.engine", "adastyle.model", "adastyle.server.jobs"}, request_deps
    assert not any(d.startswith(("adastyle.server", "adastyle.web")) for d in request_deps), request_deps


def test_the_plugin_toolkit_is_standard_library_only() -> None:
    import sys

    for path in ROOTS["adastyle_plugin"].rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "adastyle_plugin", (path.name, name)


if __name__ == "__main__":
    g = import_graph()
    for i, (title, _) in enumerate(LAYERS):
        mods = sorted(m for m in g if layer_of(m) == i)
        print(f"{title}:")
        for m in mods:
            print(f"  {m} -> {', '.join(sorted(g[m])) or '-'}")
    print("cycle:", find_cycle(g))
