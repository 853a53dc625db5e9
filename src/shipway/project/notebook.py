"""``shipway init --from-notebook``: a notebook's code cells as a first ``train.py`` pipeline.

A code cell whose first line is ``# step: NAME`` (or that carries the cell tag ``step:NAME``)
starts a step; the unmarked cells after it join that step. With no marked cell, the whole
notebook is one step. Imports, and the functions and classes that read no variable of the
cells, move to the top of the module; IPython magics become comments. Each step takes the
variables that earlier steps made and it reads, and passes on those later steps read (and
the models, which the last step returns), so each step's output holds only what the rest of
the pipeline needs. The notebook itself is only read.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import keyword
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from shipway.errors import InvalidArgument

_MARK = re.compile(r"^\s*#\s*step\s*:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")
# A line magic or shell escape (``%time x``, ``!pip``, ``files = !ls``), not ``!=`` or ``% 2``
_MAGIC = re.compile(r"^(\s*)((?:[A-Za-z_][\w, ]*=\s*)?[%!][A-Za-z_./~].*)$")
_TIMING_CELLS = ("%%time", "%%timeit", "%%capture")  # cell magics whose code still runs
HOISTED = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
FIRST_STEP = "preamble"  # the cells before the first marked one
MODEL_NAMES = ("model", "clf", "estimator", "pipe", "pipeline", "regressor", "classifier")


@dataclass
class Step:
    name: str
    cells: list[int] = field(default_factory=list)  # the notebook's cell numbers, from 1
    body: list[str] = field(default_factory=list)  # statements, as source
    reads: set[str] = field(default_factory=set)
    writes: list[str] = field(default_factory=list)  # in the order first bound
    fitted: set[str] = field(default_factory=set)  # names of what `.fit(...)` made


def read_code_cells(path: Path) -> list[tuple[int, str, list[str]]]:
    """Each code cell's number, source and tags, from a notebook of format 4."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise InvalidArgument(f"cannot read the notebook {path}: its JSON nests too deep") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidArgument(f"cannot read the notebook {path}: {exc}") from exc
    if not isinstance(document, dict) or document.get("nbformat") != 4:
        raise InvalidArgument(
            f"{path} is not a notebook of format 4",
            hint="save it with Jupyter 4 or newer (File > Save)",
        )
    found = document.get("cells", [])
    if not isinstance(found, list) or not all(isinstance(c, dict) for c in found):
        raise InvalidArgument(f"{path}: 'cells' is a list of cell objects, as Jupyter writes it")
    cells = []
    for number, cell in enumerate(found, start=1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and not all(isinstance(line, str) for line in source):
            raise InvalidArgument(f"{path}: cell {number}'s source is text or a list of lines")
        text = "".join(source) if isinstance(source, list) else str(source)
        metadata = cell.get("metadata")
        tags = metadata.get("tags", []) if isinstance(metadata, dict) else []
        tags = tags if isinstance(tags, list) else []
        cells.append((number, text, [str(t) for t in tags]))
    return cells


def _step_name(text: str, tags: list[str]) -> str | None:
    first = text.lstrip("\n").split("\n", 1)[0]
    found = _MARK.match(first)
    if found:
        return found.group(1)
    for tag in tags:
        kind, _, name = tag.partition(":")
        if kind == "step" and name.isidentifier():
            return name
    return None


def _string_lines(code: str) -> set[int]:
    """The lines (from 1) inside a multi-line string, after its first: text, not code."""

    inside: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.STRING and token.end[0] > token.start[0]:
                inside.update(range(token.start[0] + 1, token.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        pass  # code that does not tokenize yet (a magic): nothing is protected
    return inside


def _without_magics(text: str) -> str:
    """The cell as plain Python: magics become comments (``pass`` where a block needs a
    statement); a cell magic other than timing makes the whole cell a comment."""
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        if lines[first].split()[0] not in _TIMING_CELLS:
            return "\n".join(f"# (IPython, not run) {line}" for line in lines)
        lines[first] = f"# (IPython, not run) {lines[first].strip()}"
    out = []
    inside = _string_lines(text)
    for number, line in enumerate(lines, start=1):
        found = None if number in inside else _MAGIC.match(line)
        if found is None:
            out.append(line)
        elif found.group(1):
            out.append(f"{found.group(1)}pass  # (IPython, not run) {found.group(2)}")
        else:
            out.append(f"# (IPython, not run) {found.group(2)}")
    return "\n".join(out)


def split_steps(
    cells: list[tuple[int, str, list[str]]],
) -> tuple[list[str], list[str], list[Step]]:
    """The module's imports, its definitions, and the steps, from the code cells."""
    imports: list[str] = []
    definitions: list[str] = []
    steps: list[Step] = []
    marked = any(_step_name(text, tags) for _, text, tags in cells)
    assigned = _assigned(cells)
    for number, text, tags in cells:
        name = _step_name(text, tags)
        if name is not None or not steps:
            if name in {s.name for s in steps} or (name == FIRST_STEP and steps):
                raise InvalidArgument(f"cell {number}: a step named {name!r} comes earlier too")
            steps.append(Step(name or (FIRST_STEP if marked else "notebook")))
        _add_cell(number, text, steps[-1], imports, definitions, assigned)
    steps = [s for s in steps if s.body]
    if not steps:
        raise InvalidArgument("the notebook has no code to train with (only imports, or none)")
    # `# step: train` is natural, and the pipeline is called train; a step named like an
    # import or a function would hide it from every step.
    taken = {"train", "fitted_model", "sw", "Any", "state", "display", *dir(builtins)}
    taken |= _bound(imports) | _bound(definitions)
    for step in steps:
        name = step.name
        while keyword.iskeyword(name) or name in taken:
            name = f"{name}_step"
        step.name = name
        taken.add(name)
    return imports, definitions, steps


def _bound(sources: list[str]) -> set[str]:
    """The names that imports and definitions bind at the top of the module."""
    names = set()
    for source in sources:
        for node in ast.parse(source).body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                names |= {(a.asname or a.name).split(".")[0] for a in node.names}
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
    return names


def _parse(number: int, text: str) -> tuple[str, ast.Module]:
    code = _without_magics(text)
    try:
        return code, ast.parse(code)
    except (RecursionError, MemoryError, ValueError):
        raise InvalidArgument(
            f"cell {number} of the notebook nests too deep to read (or holds a NUL)"
        ) from None
    except SyntaxError as exc:
        raise InvalidArgument(
            f"cell {number} of the notebook is not valid Python: {exc.msg} (line {exc.lineno})"
        ) from None


def _assigned(cells: list[tuple[int, str, list[str]]]) -> set[str]:
    """Every name the cells' own statements bind (not their imports and definitions)."""
    names: set[str] = set()
    for number, text, _ in cells:
        for node in _parse(number, text)[1].body:
            if not isinstance(node, HOISTED):
                found = _Names()
                found.visit(node)
                names |= set(found.binds)
    return names


def _uses(node: ast.AST, assigned: set[str]) -> bool:
    """Whether a function or class reads a variable the cells assign: moved to the top of
    the module it could not see it, so it stays in its step, a closure over the step's
    variables (passed on to later steps like any other value)."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return False
    found = _Names()
    found.visit(node)
    return bool(set(found.reads) & assigned)


def _add_cell(
    number: int,
    text: str,
    step: Step,
    imports: list[str],
    definitions: list[str],
    assigned: set[str],
) -> None:
    """A cell's statements: imports and definitions to the module, the rest to ``step``."""
    step.cells.append(number)
    code, tree = _parse(number, text)
    lines = code.split("\n")
    hoisted: set[int] = set()  # line numbers (from 1) that move to the module
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            hoisted.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        elif isinstance(node, HOISTED) and not _uses(node, assigned):
            first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
            last = node.end_lineno or node.lineno
            segment = "\n".join(lines[first - 1 : last])
            target = imports if isinstance(node, ast.Import | ast.ImportFrom) else definitions
            if segment not in target:
                target.append(segment)
            hoisted.update(range(first, last + 1))
        else:
            _names(node, step)
    mark = next((i + 1 for i, line in enumerate(lines) if line.strip()), 0)
    if mark and _MARK.match(lines[mark - 1]):
        hoisted.add(mark)  # the `# step:` line names the step; it is not code
    if any(not isinstance(n, HOISTED) or n.lineno not in hoisted for n in tree.body):
        kept = [line for n, line in enumerate(lines, start=1) if n not in hoisted]
        step.body.append("\n".join(kept).strip("\n"))


class _Names(ast.NodeVisitor):
    """The names a statement reads, binds and deletes, in the step's own scope: what a
    comprehension or a lambda binds is its own, though what it reads from outside counts."""

    def __init__(self) -> None:
        self.reads: list[str] = []
        self.binds: list[str] = []
        self.deletes: list[str] = []

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.reads.append(node.id)
        elif isinstance(node.ctx, ast.Store):
            self.binds.append(node.id)
        else:
            self.deletes.append(node.id)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):  # `total += 1` reads total first
            self.reads.append(node.target.id)
        self.generic_visit(node)

    def _own_scope(self, node: ast.AST) -> None:
        inner = _Names()
        for child in ast.iter_child_nodes(node):
            inner.visit(child)
        own = set(inner.binds)
        arguments = getattr(node, "args", None)
        if isinstance(arguments, ast.arguments):
            own |= {a.arg for a in ast.walk(arguments) if isinstance(a, ast.arg)}
        self.reads += [name for name in inner.reads if name not in own]

    def _definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.binds.append(node.name)
        self._own_scope(node)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _own_scope
    visit_Lambda = _own_scope
    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _definition


def _fitted(statement: ast.AST) -> set[str]:
    """Names a statement makes models of: ``rf = make().fit(X, y)``, or ``model.fit(X, y)``."""
    names: set[str] = set()
    for node in ast.walk(statement):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr != "fit":
            continue
        if isinstance(node.func.value, ast.Name):
            names.add(node.func.value.id)
        if isinstance(statement, ast.Assign):
            names |= {t.id for t in statement.targets if isinstance(t, ast.Name)}
    return names


def _names(statement: ast.AST, step: Step) -> None:
    """What a statement reads that the step has not bound yet, then what it binds."""
    step.fitted |= _fitted(statement)
    found = _Names()
    found.visit(statement)
    step.reads |= set(found.reads) - set(step.writes)
    for name in found.binds:
        if name not in step.writes:
            step.writes.append(name)
    for name in found.deletes:  # `del tmp`: nothing left to pass on
        if name in step.writes:
            step.writes.remove(name)


def pipeline_source(path: Path, project: str) -> str:
    """The ``train.py`` of the notebook at ``path``."""
    imports, definitions, steps = split_steps(read_code_cells(path))
    later_reads: list[set[str]] = []
    seen: set[str] = set()
    for step in reversed(steps):
        later_reads.insert(0, set(seen))
        seen |= step.reads
    made: set[str] = set()
    models = set(MODEL_NAMES).union(*(s.fitted for s in steps))  # carried to the last step
    functions = []
    for index, step in enumerate(steps):
        needed_later = later_reads[index] | models
        wanted = step.reads | (models if index == len(steps) - 1 else set())
        takes = sorted(wanted & made)
        gives = sorted((made | set(step.writes)) & needed_later)
        functions.append(_step_source(step, takes, gives, index, len(steps), path.name))
        made |= set(step.writes)
    wiring = _pipeline_source(steps)
    header = (
        f'"""The training pipeline of {project}, made from {path.name} by shipway init.\n\n'
        "    shipway pipeline run train.py:train\n\n"
        "Each step is the code of the cells named after it; it takes what earlier steps made\n"
        "and passes on what later ones read. Paths in the code are as the notebook had them.\n"
        '"""\n\n'
        "from __future__ import annotations\n\n"
        "from typing import Any\n\n"
        "import shipway as sw\n"
    )
    if imports:
        header += "\n" + "\n".join(imports) + "\n"
    helpers = [_FITTED_MODEL]
    if any("display" in s.reads for s in steps) and "display" not in _bound(imports + definitions):
        helpers.insert(0, _DISPLAY)
    parts = [header, *definitions, *helpers, *functions, wiring]
    return "\n\n\n".join(p.strip("\n") for p in parts).rstrip() + "\n"


_DISPLAY = '''def display(*values: Any) -> None:
    """IPython's display, outside a notebook."""
    print(*values)'''

_FITTED_MODEL = '''def fitted_model(names: dict[str, Any]) -> Any:
    """The model the notebook made: `model`, else the last object that predicts."""
    if hasattr(names.get("model"), "predict"):
        return names["model"]
    for value in reversed(list(names.values())):
        if hasattr(value, "predict") and not isinstance(value, type):
            return value
    raise ValueError("the notebook made no model: assign the fitted model to `model`")'''


def _step_source(
    step: Step, takes: list[str], gives: list[str], index: int, steps: int, notebook: str
) -> str:
    cells = ", ".join(str(c) for c in step.cells)
    last = index == steps - 1
    # The first step reads the notebook's files: its code and parameters do not change when
    # they do, so it runs every time; the steps after it are cached by what they receive.
    lines = ["@sw.step(cache=False)" if index == 0 else "@sw.step"]
    if index == 0:
        lines.append(f"def {step.name}() -> {'Any' if last else 'dict[str, Any]'}:")
    else:
        lines.append(
            f"def {step.name}(state: dict[str, Any]) -> {'Any' if last else 'dict[str, Any]'}:"
        )
    lines.append(f'    """Cell(s) {cells} of {notebook}."""')
    lines += [f'    {name} = state["{name}"]' for name in takes]
    for statement in step.body:
        inside = _string_lines(statement)  # a multi-line string's own lines keep their text
        lines += [
            line if number in inside else (f"    {line}" if line.strip() else "")
            for number, line in enumerate(statement.split("\n"), start=1)
        ]
    if last:
        lines.append("    return fitted_model(locals())")
    else:
        local = set(step.writes) | set(takes)
        entries = [f'"{n}": {n}' if n in local else f'"{n}": state["{n}"]' for n in gives]
        lines.append(f"    return {{{', '.join(entries)}}}")
    return "\n".join(lines)


def _pipeline_source(steps: list[Step]) -> str:
    lines = ["@sw.pipeline", "def train() -> Any:"]
    for index, step in enumerate(steps):
        argument = "" if index == 0 else "state"
        target = "return " if index == len(steps) - 1 else "state = "
        lines.append(f"    {target}{step.name}({argument})")
    return "\n".join(lines)
