"""The layout rules of issue 16, checked on the source (ast only, nothing imported)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 50
MAX_TOP_MODULES = 12


def _sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Modules `path` imports at run time (imports under `if TYPE_CHECKING:` left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for child in ast.walk(node))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    paths = _sources("bot") + _sources("cogs")
    modules = {_module(path): path for path in paths}
    return {
        name: {m for m in _imports(path) if m in modules} - {name} for name, path in modules.items()
    }


def test_no_file_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _sources("bot") + _sources("cogs")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES
    }
    assert long == {}


def test_no_function_over_50_lines() -> None:
    long: dict[str, int] = {}
    for path in _sources("bot") + _sources("cogs"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = lines
    assert long == {}


def test_at_most_12_modules_directly_in_bot() -> None:
    top = sorted(path.name for path in (ROOT / "bot").glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top


def test_every_package_says_what_it_owns() -> None:
    for init in (ROOT / "bot").rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc, f"{init.relative_to(ROOT)} has no docstring"


def test_bot_never_imports_cogs_and_no_cog_imports_another() -> None:
    graph = _graph()
    assert {
        m: d
        for m, d in graph.items()
        if m.startswith("bot") and any(x.startswith("cogs") for x in d)
    } == {}
    assert {
        m: d
        for m, d in graph.items()
        if m.startswith("cogs.") and any(x.startswith("cogs.") for x in d)
    } == {}


def test_no_import_cycle() -> None:
    graph = _graph()
    # A package's __init__ importing its own modules is not a cycle with them.
    edges = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []
