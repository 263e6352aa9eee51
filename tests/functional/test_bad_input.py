"""The bad-input corpus: every case in tests/data/bad must fail with exit code 2 and one clear line.

Each directory under ``tests/data/bad`` is one case: the files it needs (``template.yaml``, ``env.yaml``,
nested templates, ...) and ``case.yaml``::

    description: map_merge is not in 2015-04-30
    args: [stack, validate, -t, template.yaml]   # after `tripleo`, run with cwd = the case directory
    file: template.yaml                          # the file the error must name, or null
    path: resources.R.properties.value           # the dotted YAML path it must name, or null
    line: 3                                      # (malformed YAML only) the 1-based line it must name
    message: map_merge                           # a case-insensitive substring of the message

The error must be exactly one non-empty line on stderr starting with ``ERROR: ``, containing
``f"{file}: {path}"`` (or ``file`` then ``line N`` for YAML syntax errors), containing ``message``, and no
Python traceback may appear anywhere.
"""

from __future__ import annotations

import re
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from tripleo.cli.main import cli

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
CASES = sorted(p.name for p in BAD.iterdir() if (p / "case.yaml").is_file()) if BAD.is_dir() else []
TRIPLEO = Path(sys.executable).parent / "tripleo"
# A few cases of different kinds, run through the real console script as well.
SUBPROCESS_CASES = [
    "yaml-tab-indent",
    "fn-map-merge-2015-04-30",
    "param-cli-no-equals",
    "file-missing-template",
    "dep-cycle-depends-on",
    "nested-unknown-function",
]
KEYS = {"description", "args", "file", "path", "line", "message"}


def load_case(name: str) -> dict[str, Any]:
    case = yaml.safe_load((BAD / name / "case.yaml").read_text())
    assert isinstance(case, dict), f"{name}/case.yaml is not a mapping"
    assert set(case) <= KEYS, f"{name}/case.yaml: unknown keys {sorted(set(case) - KEYS)}"
    assert case.get("description") and case.get("message"), f"{name}/case.yaml needs description and message"
    assert isinstance(case.get("args"), list) and all(isinstance(a, str) for a in case["args"])
    return case


def make_runner() -> CliRunner:
    """A runner whose result keeps stderr apart from stdout (click < 8.2 needs ``mix_stderr=False``)."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:  # click >= 8.2: stderr is always captured separately
        return CliRunner()


def invoke(case_dir: Path, args: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Run ``tripleo ARGS`` in-process from ``case_dir``; return (exit code, stdout, stderr)."""
    monkeypatch.chdir(case_dir)
    result: Result = make_runner().invoke(cli, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tb = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"uncaught exception (a Python traceback for the user):\n{tb}")
    return result.exit_code, result.stdout, result.stderr


def check_error(case: dict[str, Any], code: int, stdout: str, stderr: str) -> None:
    """Assert the one-line error contract for one case."""
    shown = f"exit code {code}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    assert "Traceback" not in stdout and "Traceback" not in stderr, shown
    assert code == 2, shown
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), f"expected exactly one non-empty line on stderr\n{shown}"
    line = lines[0]
    assert line.startswith("ERROR: "), shown
    file, path, lineno = case.get("file"), case.get("path"), case.get("line")
    if file and path:
        assert f"{file}: {path}" in line, f"the error must name {file!r} then {path!r}\n{shown}"
    elif file:
        assert file in line, f"the error must name {file!r}\n{shown}"
    if lineno is not None:
        start = line.find(file) + len(file) if file else 0
        assert re.search(rf"\bline {lineno}\b", line[start:]), f"the error must name line {lineno}\n{shown}"
    assert case["message"].lower() in line.lower(), f"the error must mention {case['message']!r}\n{shown}"


def test_corpus_size() -> None:
    assert len(CASES) >= 50, f"only {len(CASES)} bad-input cases in {BAD}"


@pytest.mark.parametrize("name", CASES)
def test_bad_input(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case = load_case(name)
    code, stdout, stderr = invoke(BAD / name, case["args"], monkeypatch)
    check_error(case, code, stdout, stderr)


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_bad_input_subprocess(name: str) -> None:
    """The same contract holds for the installed console script, outside CliRunner."""
    if not TRIPLEO.exists():
        pytest.skip(f"{TRIPLEO} is not installed")
    case = load_case(name)
    proc = subprocess.run(
        [str(TRIPLEO), *case["args"]], cwd=BAD / name, capture_output=True, text=True, timeout=60, check=False
    )
    check_error(case, proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.parametrize(
    "name", ["fn-map-merge-2015-04-30", "dep-cycle-depends-on", "nested-undeclared-property"]
)
def test_json_format_prints_nothing_on_stdout(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``-f json`` on a bad case must not print a partial or empty JSON document."""
    case = load_case(name)
    code, stdout, stderr = invoke(BAD / name, [*case["args"], "-f", "json"], monkeypatch)
    assert stdout == "", f"stdout should be empty, got {stdout!r}"
    check_error(case, code, stdout, stderr)
