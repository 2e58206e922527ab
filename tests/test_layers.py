"""The shape of the code, enforced: the domain's groups in order, no import cycles, adapters on top.

``opportunities/`` holds the domain: core modules at its root, then one folder per concern, each
allowed to import only the groups below it (the order is :data:`LAYERS`). The database's schema
is the one exception: core validation reads the declared column lengths from it. ``maps/`` draws
with the domain; the adapters (``app.py``, ``pages/``, ``ui``, ``cli``) sit above both. Imports
inside functions count like any other; imports only for type checking do not.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "opportunities"
# Lowest first: a group may import its own modules and those of the groups before it.
LAYERS = ("core", "db", "places", "accounts", "listings", "explore", "coverage", "feeds", "badges", "operations", "demo")
ALSO_ALLOWED = {("core", "opportunities.db.schema")}
ADAPTERS = ("app.py", "server.py", "pages", "ui", "web", "cli")


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    for path in sorted((ROOT / "maps").rglob("*.py")):
        found[".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")] = path
    return found


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports (at run time: type-checking imports left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    known = modules()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield full if full in known else node.module


def group(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "maps":
        return "maps"
    if len(parts) == 2 or parts[1] in ("__main__",):
        return "core" if len(parts) == 2 else "adapter"
    return parts[1]


def test_the_groups_import_only_the_groups_below_them() -> None:
    problems = []
    for module, path in modules().items():
        if module in (PACKAGE, f"{PACKAGE}.__main__"):
            continue
        mine = group(module)
        for target in imports(path):
            if not target.startswith((f"{PACKAGE}.", "maps")) or target == f"{PACKAGE}.__version__":
                continue
            theirs = group(target)
            if mine == "maps":  # the maps draw with any part of the domain
                allowed = theirs == "maps" or theirs in LAYERS
            else:
                allowed = theirs in LAYERS and LAYERS.index(theirs) <= LAYERS.index(mine)
            if not allowed and (mine, target) not in ALSO_ALLOWED:
                problems.append(f"{module} ({mine}) imports {target} ({theirs})")
    assert not problems, "\n".join(problems)


def test_no_import_cycles() -> None:
    graph = {m: {t for t in imports(p) if t in modules() and t != m} for m, p in modules().items()}
    cycles = []
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, cycles


@pytest.mark.parametrize("folder", [PACKAGE, "maps"])
def test_no_streamlit_and_no_adapter_below_the_adapters(folder: str) -> None:
    problems = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        if path == ROOT / PACKAGE / "__main__.py":
            continue  # `python -m opportunities` hands over to the command line, the one adapter it names
        for target in imports(path):
            top = target.split(".")[0]
            if top == "streamlit" or top in {a.removesuffix(".py") for a in ADAPTERS} | {"access", "app_state", "language"}:
                problems.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not problems, problems
