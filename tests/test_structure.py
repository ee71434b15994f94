"""The shape of course_utils: small modules, short functions, no import cycle, the CLI on top.

Imports are read from the source (top-level and inside functions alike), so a lazy import
cannot hide a cycle.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "course_utils"
MODULES = sorted(PACKAGE.rglob("*.py"))
PURE_DATA = {"catalog.py"}  # the catalog is data: one entry per model
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    names = {module_name(p) for p in MODULES}
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {n for n in found if n in names and n != "course_utils"}


GRAPH = {module_name(p): imported_modules(p) - {module_name(p)} for p in MODULES}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_stay_small(path):
    lines = path.read_text().splitlines()
    if path.name not in PURE_DATA:
        assert len(lines) <= MAX_MODULE_LINES, f"{path.name}: {len(lines)} lines"
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{path.name}:{node.name} is {length} lines"


def test_no_import_cycle():
    def visit(name, stack):
        if name in stack:
            cycle = stack[stack.index(name) :] + [name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        for other in GRAPH.get(name, ()):
            visit(other, stack + [name])

    for name in GRAPH:
        visit(name, [])


def test_the_cli_sits_above_the_library():
    for name, imports in GRAPH.items():
        if not name.startswith("course_utils.cli") and not name.endswith("__main__"):
            assert not any(i.startswith("course_utils.cli") for i in imports), name


def test_package_exports_are_complete_and_lazy():
    import course_utils

    assert sorted(course_utils.__all__) == sorted(course_utils._EXPORTS)
    for name in course_utils.__all__:
        assert getattr(course_utils, name) is not None
