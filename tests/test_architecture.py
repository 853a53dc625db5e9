"""The design, checked: what each package may import (shipway's own and third-party), string
references included, no cycles between packages, and the public API as documented.

docs/architecture.md draws the same picture; when this file changes, that one does too.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from pathlib import Path

import shipway

SRC = Path(shipway.__file__).parent

# Each package (or top-level module) and the packages of shipway it may import. A layer may
# use the layers below it; the allowlist says which, so an unplanned edge fails here first.
LOWER = {
    "errors": set(),
    "distribution": {"errors"},
    "config": {"errors"},
    "types": set(),
    "store": {"errors", "config", "types"},
    "stats": {"errors"},
    "models": {"errors", "store"},
    "charts": set(),
    "data": {"errors", "config", "types", "store", "stats", "charts"},
    "tracking": {"errors", "config", "types", "store", "models", "data"},
    "registry": {"errors", "config", "types", "store", "tracking"},
    "services": {"types"},
    "session": {"errors", "config", "types", "store", "tracking", "registry", "data", "services"},
}
RUNTIME = set(LOWER) | {"web"}
ALLOWED = {
    **LOWER,
    "web": {"errors"},
    "ui": set(),  # the page's static files only
    "serving": RUNTIME,
    "monitoring": RUNTIME | {"serving"},
    "pipelines": RUNTIME,
    "automation": RUNTIME | {"serving", "monitoring", "pipelines"},
    "project": RUNTIME | {"pipelines", "automation"},
    "fluent": RUNTIME | {"serving", "monitoring", "automation"},
    "server": RUNTIME | {"serving", "monitoring", "automation", "ui"},
    "client": RUNTIME | {"serving", "monitoring"},
    "cli": RUNTIME
    | {"serving", "monitoring", "automation", "fluent", "server", "demo", "pipelines", "project"},
    "demo": RUNTIME | {"serving", "monitoring", "automation", "fluent", "pipelines", "server"},
    "testing": RUNTIME | {"serving", "monitoring"},
}
# Third-party packages each part may import, beyond the standard library. Layers 1-3 know no
# web framework, terminal library or HTTP client.
CORE = {
    *("numpy", "pandas", "pyarrow", "scipy", "sklearn", "sqlalchemy", "alembic", "fsspec"),
    *("blake3", "cloudpickle", "yaml", "tomli", "xgboost", "lightgbm", "psycopg", "s3fs", "ray"),
}
THIRD_PARTY = {
    **{name: CORE for name in LOWER},
    "charts": CORE | {"matplotlib"},  # the reports' charts, drawn as inline SVG
    "web": {"starlette"},
    "ui": set(),
    "serving": CORE | {"starlette", "prometheus_client"},
    "monitoring": CORE,
    "pipelines": CORE | {"pydantic"},  # parameters checked against their type hints
    "automation": CORE | {"httpx", "croniter"},  # webhook and Slack sinks; loop schedules
    "project": CORE,
    "fluent": CORE,
    "server": CORE
    | {"fastapi", "starlette", "pydantic", "uvicorn", "prometheus_client"}
    | {"authlib", "itsdangerous"},  # single sign-on, the sso extra
    "client": CORE | {"httpx"},
    "cli": CORE | {"typer", "click", "rich"},
    "demo": CORE | {"rich", "httpx", "uvicorn", "matplotlib"},
    "testing": CORE,
}
# The one sanctioned place where names above a layer are written as strings: the session's
# table of backends, resolved when first used (and the public API's lazy export table).
STRING_REFERENCES_ALLOWED = {"shipway.session", "shipway"}
_REFERENCE = re.compile(r"^shipway\.([a-z_]+)(\.[a-z_.]+)?(:[A-Za-z_.]+)?$")


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts:
            continue  # Alembic's scripts, run by Alembic
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text())
    return found


def _part(module: str) -> str | None:
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 and pieces[0] == "shipway" else None


def _imports(tree: ast.Module) -> list[str]:
    """The shipway modules a module uses, ``import shipway`` resolved: ``sw.deploy`` and
    ``from shipway import deploy`` use the module that defines ``deploy`` (the fluent layer),
    which the bare ``shipway`` import would hide."""
    names = []
    aliases = set()  # names bound to the package itself: import shipway (as sw)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            if node.module == "shipway":  # from shipway import session: the module itself
                names.extend(f"shipway.{a.name}" for a in node.names if a.name in ALLOWED)
                names.extend(
                    shipway._EXPORTS[a.name] for a in node.names if a.name in shipway._EXPORTS
                )
        elif isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
            aliases |= {a.asname or a.name for a in node.names if a.name == "shipway"}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr in shipway._EXPORTS
        ):
            names.append(shipway._EXPORTS[node.attr])
    return names


def test_the_layer_check_sees_through_import_shipway() -> None:
    """Issue 24: ``import shipway as sw; sw.deploy(...)`` in the store was invisible."""
    planted = ast.parse("import shipway as sw\n\ndef f() -> None:\n    sw.deploy('x')\n")
    assert "shipway.fluent.serving" in _imports(planted)
    direct = ast.parse("from shipway import labelled_traffic\n")
    assert "shipway.fluent.monitoring" in _imports(direct)


def test_each_package_imports_only_what_its_layer_allows() -> None:
    offences = []
    for module, tree in _modules().items():
        own = _part(module)
        if own is None:
            continue
        assert own in ALLOWED, f"{own} has no place in the layers: add it to ALLOWED"
        for target in _imports(tree):
            used = _part(target)
            if used is not None and used != own and used not in ALLOWED[own]:
                offences.append(f"{module} imports {target}")
    assert not offences, offences


def test_third_party_imports_stay_in_their_layer() -> None:
    offences = []
    for module, tree in _modules().items():
        own = _part(module)
        if own is None:
            continue
        for target in _imports(tree):
            top = target.split(".")[0]
            if top == "shipway" or top in sys.stdlib_module_names or top == "__future__":
                continue
            if top not in THIRD_PARTY[own]:
                offences.append(f"{module} imports {top}")
    assert not offences, offences


def test_names_written_as_strings_obey_the_layers_too() -> None:
    offences = []
    modules = _modules()
    for module, tree in modules.items():
        own = _part(module)
        if own is None or module in STRING_REFERENCES_ALLOWED:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                match = _REFERENCE.match(node.value)
                if not match or node.value.partition(":")[0] not in modules:
                    continue  # not a module's name (a tag, a logger, a file name)
                if match.group(1) != own and match.group(1) not in ALLOWED[own]:
                    offences.append(f"{module} names {node.value!r}")
    assert not offences, offences


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, tree in _modules().items():
        own = _part(module)
        if own is None:
            continue
        for target in _imports(tree):
            used = _part(target)
            if used is not None and used != own:
                graph[own].add(used)

    def cycle_from(start: str, path: list[str]) -> list[str] | None:
        for nxt in sorted(graph[path[-1]]):
            if nxt == start:
                return [*path, nxt]
            if nxt not in path:
                found = cycle_from(start, [*path, nxt])
                if found:
                    return found
        return None

    cycles = [c for c in (cycle_from(p, [p]) for p in sorted(graph)) if c]
    assert not cycles, [" -> ".join(c) for c in cycles]


def test_every_exported_name_is_documented_and_typed_for_checkers() -> None:
    source = (SRC / "__init__.py").read_text()
    checked = {
        alias.asname or alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    undocumented = []
    for name in shipway.__all__:
        if name == "__version__":
            continue
        assert name in checked, f"{name} is exported but not imported for type checkers"
        value = getattr(shipway, name)
        if not (getattr(value, "__doc__", None) or "").strip():
            undocumented.append(name)
    assert not undocumented, f"exported without a docstring: {undocumented}"
