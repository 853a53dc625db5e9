"""The types users import hold for their code: the README's main examples, typed as a strict
project types them, pass ``mypy --strict`` and pyright's strict mode (basedpyright, which
brings its own Node.js), as the package ships ``py.typed``."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import shipway as sw

HERE = Path(__file__).parent


def _mypy_strict(folder: Path, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(folder / ".mypy"), name],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_typed_user_code_passes_mypy_strict(tmp_path: Path) -> None:
    """Issue 24: ``with sw.start_run(): sw.log_metric(...)`` failed --strict, since nothing
    was re-exported explicitly; a step made with options was an untyped decorator."""
    code = tmp_path / "user.py"
    code.write_text((HERE / "typed_user_code.py").read_text())
    checked = _mypy_strict(tmp_path, "user.py")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    broken = tmp_path / "broken.py"
    broken.write_text(
        "import shipway as sw\n\n@sw.step\ndef load(rows: int) -> int:\n    return rows\n\n"
        "@sw.step\ndef half(x: str) -> str:\n    return x\n\n"
        "@sw.pipeline\ndef wired() -> object:\n    return half(load(3))\n"
    )
    wrong = _mypy_strict(tmp_path, "broken.py")
    assert wrong.returncode == 1 and 'incompatible type "int"; expected "str"' in wrong.stdout


def _pyright_strict(folder: Path, name: str) -> subprocess.CompletedProcess[str]:
    """basedpyright in strict mode, finding shipway in ``src/`` (pyright cannot follow an
    editable install's import hook)."""
    config = {
        "include": [name],
        "typeCheckingMode": "strict",
        "pythonVersion": "3.11",
        "extraPaths": [str(Path(sw.__file__).parents[1])],
    }
    (folder / "pyrightconfig.json").write_text(json.dumps(config))
    pyright = shutil.which("basedpyright", path=str(Path(sys.executable).parent))
    assert pyright, "basedpyright is a dev dependency: pip install -e '.[dev]'"
    return subprocess.run(
        [pyright, "--pythonpath", sys.executable, "-p", "pyrightconfig.json", "--outputjson"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_typed_user_code_passes_pyright_strict(tmp_path: Path) -> None:
    """The same user code under pyright's strict rules (what VS Code's Pylance users see)."""
    (tmp_path / "user.py").write_text((HERE / "typed_user_code.py").read_text())
    checked = _pyright_strict(tmp_path, "user.py")
    report = json.loads(checked.stdout)
    assert report["summary"]["filesAnalyzed"] == 1
    assert report["generalDiagnostics"] == [], checked.stdout
    (tmp_path / "wrong.py").write_text("import shipway as sw\n\nrun = sw.start_run(experiment=3)\n")
    wrong = json.loads(_pyright_strict(tmp_path, "wrong.py").stdout)
    assert [d["rule"] for d in wrong["generalDiagnostics"]] == ["reportArgumentType"]


def test_every_public_name_is_in_a_literal_all_and_re_exported_for_type_checkers() -> None:
    source = (Path(sw.__file__)).read_text()
    tree = ast.parse(source)
    (literal,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
    ]
    assert isinstance(literal, ast.List), "a literal list, which checkers read without running it"
    names = {e.value for e in literal.elts if isinstance(e, ast.Constant)}
    assert names == {*sw._EXPORTS, "__version__"}
    re_exported = {
        alias.asname
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.asname == alias.name
    }
    assert re_exported == set(sw._EXPORTS), "each as `import NAME as NAME`"
