"""Module boundaries (issue 23, acceptance 4): no module of src/ imports another module's private name, and
the workflows import each other without a circle (an import inside a function counts)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str, str | None]]:
    """Every ``tripleo`` import of a file, anywhere in it: (line, module, imported name or None)."""
    out: list[tuple[int, str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tripleo":
            out += [(node.lineno, node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name, None) for a in node.names if a.name.split(".")[0] == "tripleo"]
    return out


def _private(name: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in name.split("."))


def test_no_module_imports_another_modules_private_name() -> None:
    found = [
        f"{path.relative_to(SRC)}:{line}: {module} {name or ''}".strip()
        for path in sorted(SRC.rglob("*.py"))
        for line, module, name in _imports(path)
        if _private(module) or (name is not None and _private(name))
    ]
    assert found == []


def test_the_workflows_import_each_other_without_a_circle() -> None:
    files = {_module(p): p for p in (SRC / "tripleo" / "workflows").glob("*.py")}
    graph = {
        name: {m for _, m, _ in _imports(path) if m in files and m != name} for name, path in files.items()
    }
    state: dict[str, str] = {}  # "open" while its imports are walked, then "done"

    def circle_from(name: str, trail: tuple[str, ...]) -> tuple[str, ...] | None:
        state[name] = "open"
        for dep in sorted(graph[name]):
            if state.get(dep) == "open":
                return (*trail, name, dep)
            if dep not in state:
                found = circle_from(dep, (*trail, name))
                if found:
                    return found
        state[name] = "done"
        return None

    circles = [c for name in sorted(graph) if name not in state and (c := circle_from(name, ()))]
    assert circles == []
    assert "tripleo.workflows.overcloud" not in graph["tripleo.workflows.containers"]
