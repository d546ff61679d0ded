"""The import graph: a request flows one way, front end -> StylizeRequest -> queue -> engine -> model.

Every import counts, also those inside functions (a lazy import is still a dependency), and the page
in /web is part of the graph as `adastyle.web`. Run this file directly to print the layers.
"""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOTS = {"adastyle": REPO / "core" / "adastyle", "adastyle.web": REPO / "web",
         "adastyle_plugin": REPO / "core" / "adastyle_plugin"}

# Lower layers never import higher ones. adastyle.train (the trainer) sits beside the engine on the model.
# The page (adastyle.web) is a front end above the server: it mounts itself on the server's app through a
# hook, so nothing in adastyle.server may import it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("front ends", ("adastyle.cli", "adastyle.cli_server", "adastyle.web", "adastyle.install")),
    ("server", ("adastyle.server", "adastyle.library")),
    ("queue", ("adastyle.server.jobs", "adastyle.server.budget", "adastyle.server.security",
               "adastyle.server.errors")),
    ("engine", ("adastyle.engine", "adastyle.tiling", "adastyle.masks", "adastyle.color", "adastyle.device",
                "adastyle.train", "adastyle.sequence")),
    ("request", ("adastyle.request", "adastyle.imageio")),
    ("model", ("adastyle.model", "adastyle.adain", "adastyle.content_stats", "adastyle.batch.stability",
               "adastyle.coherence")),
    ("base", ("adastyle.errors", "adastyle.config", "adastyle.settings", "adastyle.device_names", "adastyle_plugin")),
]
# Package modules placed by exact name: the package itself (`adastyle.Stylizer`, lazily, for library users) is
# a front end of its own; `adastyle.server` is an empty package marker. A module not placed at all counts as a
# front end: it may import anything, and nothing placed below may import it.
EXACT = {"adastyle": 0, "adastyle.server": len(LAYERS) - 1}


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


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports anywhere in its body."""
    files = [p for folder in ROOTS.values() for p in folder.rglob("*.py")]
    names = {module_name(p) for p in files}
    graph: dict[str, set[str]] = {}
    for path in files:
        me = module_name(path)
        deps: set[str] = set()
        tree = ast.parse(path.read_text())
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and _is_type_checking(block.test)
                       for stmt in block.body for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if id(node) in typing_only:  # `if TYPE_CHECKING:` imports are for type hints, not run
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for t in targets:
                while t and t not in names:
                    t = t.rpartition(".")[0]
                if t and t != me and not (t == "adastyle" and me.startswith("adastyle.")):
                    deps.add(t)
        graph[me] = deps
    return graph


def layer_of(module: str) -> int:
    if module in EXACT:
        return EXACT[module]
    best, index = "", 0
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
                best, index = prefix, i
    return index


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


def test_the_modules_on_the_request_path_are_placed() -> None:
    placed = {p for _, prefixes in LAYERS[1:] for p in prefixes}
    assert {"adastyle.request", "adastyle.server.jobs", "adastyle.engine", "adastyle.model"} <= placed


def test_imports_only_point_down_the_layers() -> None:
    graph = import_graph()
    upward = [(m, d) for m, deps in graph.items() for d in deps if layer_of(d) < layer_of(m)]
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
