"""The twin stands on its own: it imports nothing of the project, and its modules import each other one way only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import discord_twin

PACKAGE = Path(discord_twin.__file__).parent
PROJECT_PACKAGES = {"bot", "digits", "model_store", "samples", "tests", "train", "benchmarks"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every module `path` imports, TYPE_CHECKING blocks included (a type-only import is still a dependency)."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            submodules = {f"{base}.{alias.name}" for alias in node.names} & modules
            found.update(submodules or {base})
    return found


def test_the_twin_imports_nothing_of_the_project_and_has_no_import_circle() -> None:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    graph: dict[str, set[str]] = {}
    outside: list[tuple[str, str]] = []
    for path in paths:
        name = module_name(path)
        targets = imports_of(path, modules)
        outside += [(name, t) for t in sorted(targets) if t.split(".")[0] in PROJECT_PACKAGES]
        graph[name] = {t for t in targets if t in modules and t != name}
    assert outside == []

    # A circle is a module that can reach itself; report the strongly connected groups (Tarjan's algorithm).
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = [stack.pop()]
            while group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                circles.append(sorted(group))

    for module in graph:
        if module not in index:
            visit(module)
    assert circles == []
