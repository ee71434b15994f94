"""The shape of course_utils: subsystems on floors, one reader of the environment, no knowledge
of the repository, and private library APIs only from an explicit allow-list.

Imports are read from the source (top-level and inside functions alike), so a lazy import
cannot hide a cycle or a climb to a higher floor.
"""

import ast
import warnings
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "course_utils"
MODULES = sorted(PACKAGE.rglob("*.py"))
SOFT_MODULE_LINES = 500  # a warning, not a rule: a module this long may hold two concerns

# Each subsystem (a package, or a module on its own) sits on a floor and may import only from
# lower floors (and from itself). docs/architecture.md draws the same picture.
FLOORS = {
    "errors": 0,
    "display": 0,
    "settings": 1,
    "paths": 1,
    "catalog": 1,
    "hub": 2,
    "fonts": 2,
    "standins": 3,
    "mrpc": 3,
    "models": 4,
    "tokenizer_lab": 4,
    "pipelines": 5,
    "training": 5,
    "environment": 5,
    "prefetch": 5,
    "exercises": 6,
    "cli": 7,
    "__main__": 8,
}

# Private names of other libraries that the course uses, each a decision with its reason:
# attributes (``obj._name``, ``getattr(obj, "_name")``, inherited ``self._name``) and imported
# names (``from lib import _name``) alike.
PRIVATE_API_ALLOWED = {
    # transformers
    "_name_or_path": "the checkpoint name a config or tokenizer was loaded from",
    "_build_translation_inputs": "multilingual tokenizers' language codes, as 4.57's pipeline",
    # huggingface_hub
    "_http": "the module of huggingface_hub's client factory (set_client_factory's own module)",
    "_GLOBAL_CLIENT_FACTORY": "set_client_factory has no getter: the course's deadline client "
    "replaces only the default factory, during a course call, and puts it back afterwards",
    # the standard library
    "_SubParsersAction": "argparse's type of add_subparsers(), in annotations only",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def subsystem(name: str) -> str:
    """``course_utils.models.memory`` -> ``models``; ``course_utils.catalog`` -> ``catalog``."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


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


def test_every_subsystem_has_a_floor():
    missing = {subsystem(name) for name in GRAPH if name != "course_utils"} - set(FLOORS)
    assert not missing, f"give these a floor in FLOORS (and docs/architecture.md): {missing}"


def test_subsystems_import_only_from_lower_floors():
    climbs = []
    for name, imports in GRAPH.items():
        if name == "course_utils":  # the package's lazy table of public names
            continue
        here = subsystem(name)
        for other in imports:
            there = subsystem(other)
            if there != here and FLOORS[there] >= FLOORS[here]:
                climbs.append(f"{name} (floor {FLOORS[here]}) imports {other} ({FLOORS[there]})")
    assert not climbs, "\n".join(climbs)


def test_hub_and_models_do_not_know_their_users():
    for name, imports in GRAPH.items():
        if subsystem(name) == "hub":
            assert not {subsystem(i) for i in imports} & {"models", "standins", "pipelines"}
        if subsystem(name) == "models":
            assert not {subsystem(i) for i in imports} & {"pipelines", "training", "cli"}


def test_no_import_cycle():
    def visit(name, stack):
        if name in stack:
            cycle = stack[stack.index(name) :] + [name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        for other in GRAPH.get(name, ()):
            visit(other, stack + [name])

    for name in GRAPH:
        visit(name, [])


def _trees():
    for path in MODULES:
        yield path, ast.parse(path.read_text())


def test_only_settings_reads_or_writes_the_environment():
    offenders = []
    for path, tree in _trees():
        if path.name == "settings.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
                and node.attr in ("environ", "getenv", "putenv", "unsetenv")
            ):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} os.{node.attr}")
    assert not offenders, "only course_utils/settings.py may touch os.environ:\n" + "\n".join(
        offenders
    )


# The library's offline switches, and the course's own (settings.force_standins).
OFFLINE_SWITCHES = {"is_offline_mode", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"}


def test_only_the_policy_reads_the_offline_settings():
    """Online, cache or stand-in is decided in course_utils/hub/policy.py; the rest asks it."""
    offenders = []
    for path, tree in _trees():
        if path in (PACKAGE / "hub" / "policy.py", PACKAGE / "settings.py"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                reads = node.attr in OFFLINE_SWITCHES or (
                    node.attr == "force_standins"
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "settings"
                )
            elif isinstance(node, ast.Name):
                reads = node.id in OFFLINE_SWITCHES
            elif isinstance(node, ast.alias):
                reads = node.name in OFFLINE_SWITCHES
            else:
                continue
            if reads:
                offenders.append(f"{path.relative_to(PACKAGE)}:{getattr(node, 'lineno', '')}")
    assert not offenders, "ask course_utils.hub.policy instead:\n" + "\n".join(offenders)


def _docstrings(tree) -> set[int]:
    nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef))]
    return {
        id(node.body[0].value)
        for node in nodes
        if node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def _from_file(node) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "__file__" for n in ast.walk(node))


def test_the_learner_package_does_not_know_the_repository_layout():
    """Package data comes from the package itself; nothing climbs out of it to the clone."""
    offenders = []
    for path, tree in _trees():
        where = path.relative_to(PACKAGE)
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _from_file(node):
                climbs = node.attr == "parents" or (
                    node.attr == "parent"
                    and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "parent"
                )
                if climbs:
                    offenders.append(f"{where}:{node.lineno} climbs out of the package")
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in docstrings:
                    continue
                for marker in ("notebooks/", "pyproject.toml", "tests/", "authoring/"):
                    if marker in node.value:
                        offenders.append(f"{where}:{node.lineno} names {marker!r}")
    assert not offenders, "\n".join(offenders)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_names(tree) -> set[str]:
    """Underscored names this code reads from objects or imports from other libraries."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("course_utils"):
                names |= {a.name for a in node.names if _is_private(a.name)}
        elif isinstance(node, ast.Attribute) and _is_private(node.attr):
            names.add(node.attr)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr", "setattr")
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _is_private(node.args[1].value)
        ):
            names.add(node.args[1].value)
    return names


def _own_private_names() -> set[str]:
    """Underscored names course_utils defines: functions, methods, classes, assigned names."""
    own = set()
    for _, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
                own.add(node.name)
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    own.add(target.id)
                elif isinstance(target, ast.Attribute):
                    own.add(target.attr)
    return {n for n in own if _is_private(n)}


def test_private_library_apis_are_an_explicit_allow_list():
    used = set()
    for _, tree in _trees():
        used |= _private_names(tree)
    foreign = used - _own_private_names()
    unlisted = sorted(foreign - set(PRIVATE_API_ALLOWED))
    assert not unlisted, (
        f"private names of other libraries, not in PRIVATE_API_ALLOWED: {unlisted}. Use a public "
        "API, or add each with the reason it is needed."
    )
    stale = sorted(set(PRIVATE_API_ALLOWED) - foreign)
    assert not stale, f"allowed but no longer used (remove them): {stale}"


def test_the_cli_sits_above_the_library():
    for name, imports in GRAPH.items():
        if subsystem(name) not in ("cli", "__main__"):
            assert not any(subsystem(i) == "cli" for i in imports), name


def test_long_modules_are_flagged():
    for path in MODULES:
        lines = len(path.read_text().splitlines())
        if lines > SOFT_MODULE_LINES and path.name != "catalog.py":
            warnings.warn(
                f"{path.relative_to(PACKAGE)}: {lines} lines, two concerns?", stacklevel=1
            )


def test_package_exports_are_complete_and_lazy():
    import course_utils

    assert sorted(course_utils.__all__) == sorted(course_utils._EXPORTS)
    for name in course_utils.__all__:
        assert getattr(course_utils, name) is not None
