"""``shipway init --from-notebook``: a notebook's code cells as a first ``train.py`` pipeline.

A code cell whose first line is ``# step: NAME`` (or that carries the cell tag ``step:NAME``)
starts a step; the unmarked cells after it join that step. With no marked cell, the whole
notebook is one step. Imports, functions and classes move to the top of the module, where
every step sees them; IPython magics (``%…``, ``!…``) are kept as comments. Each step takes
the variables that earlier steps made and it reads, and passes on those later steps read,
so each step's output is only what the rest of the pipeline needs. The pipeline returns the
variable ``model``, or else the last object the notebook left that has a ``predict`` method.
The notebook itself is only read.
"""

from __future__ import annotations

import ast
import json
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path

from shipway.errors import InvalidArgument

_MARK = re.compile(r"^\s*#\s*step\s*:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")
_MAGIC = re.compile(r"^\s*[%!]")
MODEL_NAMES = ("model", "clf", "estimator", "pipe", "pipeline", "regressor", "classifier")


@dataclass
class Step:
    name: str
    cells: list[int] = field(default_factory=list)  # the notebook's cell numbers, from 1
    body: list[str] = field(default_factory=list)  # statements, as source
    reads: set[str] = field(default_factory=set)
    writes: list[str] = field(default_factory=list)  # in the order first bound


def read_code_cells(path: Path) -> list[tuple[int, str, list[str]]]:
    """Each code cell's number, source and tags, from a notebook of format 4."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidArgument(f"cannot read the notebook {path}: {exc}") from exc
    if not isinstance(document, dict) or document.get("nbformat") != 4:
        raise InvalidArgument(
            f"{path} is not a notebook of format 4",
            hint="save it with Jupyter 4 or newer (File > Save)",
        )
    cells = []
    for number, cell in enumerate(document.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        tags = cell.get("metadata", {}).get("tags", []) or []
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


def _without_magics(text: str) -> str:
    return "\n".join(
        f"# (IPython, not run) {line.strip()}" if _MAGIC.match(line) else line
        for line in text.split("\n")
    )


def split_steps(
    cells: list[tuple[int, str, list[str]]],
) -> tuple[list[str], list[str], list[Step]]:
    """The module's imports, its definitions, and the steps, from the code cells."""
    imports: list[str] = []
    definitions: list[str] = []
    steps: list[Step] = []
    marked = any(_step_name(text, tags) for _, text, tags in cells)
    for number, text, tags in cells:
        name = _step_name(text, tags)
        if name is not None or not steps:
            if name in {s.name for s in steps}:
                raise InvalidArgument(f"cell {number}: a step named {name!r} comes earlier too")
            steps.append(Step(name or ("prepare" if marked else "notebook")))
        _add_cell(number, text, steps[-1], imports, definitions)
    steps = [s for s in steps if s.body]
    if not steps:
        raise InvalidArgument("the notebook has no code to train with (only imports, or none)")
    taken = {"train", "fitted_model", "sw", "Any"} | _defined(definitions)
    for step in steps:  # `# step: train` is natural; the pipeline is called train
        if keyword.iskeyword(step.name) or step.name in taken:
            step.name = f"{step.name}_step"
    return imports, definitions, steps


def _defined(definitions: list[str]) -> set[str]:
    return {
        node.name
        for source in definitions
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }


def _add_cell(
    number: int, text: str, step: Step, imports: list[str], definitions: list[str]
) -> None:
    """A cell's statements: imports and definitions to the module, the rest to ``step``."""
    step.cells.append(number)
    code = _without_magics(text)
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise InvalidArgument(
            f"cell {number} of the notebook is not valid Python: {exc.msg} (line {exc.lineno})"
        ) from None
    lines = code.split("\n")
    hoisted: set[int] = set()  # line numbers (from 1) that move to the module
    for node in tree.body:
        if isinstance(
            node,
            ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom,
        ):
            first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
            last = node.end_lineno or node.lineno
            segment = "\n".join(lines[first - 1 : last])
            target = imports if isinstance(node, ast.Import | ast.ImportFrom) else definitions
            if segment not in target:
                target.append(segment)
            hoisted.update(range(first, last + 1))
        else:
            _names(node, step)
    kept = [
        line
        for number, line in enumerate(lines, start=1)
        if number not in hoisted and not _MARK.match(line)
    ]
    body = "\n".join(kept).strip("\n")
    if any(
        not isinstance(
            n, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        )
        for n in tree.body
    ):
        step.body.append(body)


def _names(statement: ast.AST, step: Step) -> None:
    """What a statement reads that the step has not bound yet, then what it binds."""
    names = [n for n in ast.walk(statement) if isinstance(n, ast.Name)]
    step.reads |= {n.id for n in names if isinstance(n.ctx, ast.Load)} - set(step.writes)
    for name in names:
        if not isinstance(name.ctx, ast.Load) and name.id not in step.writes:
            step.writes.append(name.id)


def pipeline_source(path: Path, project: str) -> str:
    """The ``train.py`` of the notebook at ``path``."""
    imports, definitions, steps = split_steps(read_code_cells(path))
    later_reads: list[set[str]] = []
    seen: set[str] = set()
    for step in reversed(steps):
        later_reads.insert(0, set(seen))
        seen |= step.reads
    made: set[str] = set()
    functions = []
    for index, step in enumerate(steps):
        needed_later = later_reads[index] | set(MODEL_NAMES)
        wanted = step.reads | (set(MODEL_NAMES) if index == len(steps) - 1 else set())
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
    parts = [header, *definitions, _FITTED_MODEL, *functions, wiring]
    return "\n\n\n".join(p.strip("\n") for p in parts).rstrip() + "\n"


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
    lines = ["@sw.step"]
    if index == 0:
        lines.append(f"def {step.name}() -> {'Any' if last else 'dict[str, Any]'}:")
    else:
        lines.append(
            f"def {step.name}(state: dict[str, Any]) -> {'Any' if last else 'dict[str, Any]'}:"
        )
    lines.append(f'    """Cell(s) {cells} of {notebook}."""')
    lines += [f'    {name} = state["{name}"]' for name in takes]
    for statement in step.body:
        lines += [f"    {line}" if line.strip() else "" for line in statement.split("\n")]
    if last:
        lines.append("    return fitted_model(locals())")
    else:
        given = ", ".join(f'"{n}": {n}' for n in gives if n in step.writes or n in takes)
        carried = [n for n in gives if n not in step.writes and n not in takes]
        passed = "".join(f', "{n}": state["{n}"]' for n in carried)
        lines.append(f"    return {{{given}{passed}}}")
    return "\n".join(lines)


def _pipeline_source(steps: list[Step]) -> str:
    lines = ["@sw.pipeline", "def train() -> Any:"]
    for index, step in enumerate(steps):
        argument = "" if index == 0 else "state"
        target = "return " if index == len(steps) - 1 else "state = "
        lines.append(f"    {target}{step.name}({argument})")
    return "\n".join(lines)
