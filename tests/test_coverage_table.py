"""scripts/coverage_table.py: the README's table of operations is generated, and kept current."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "coverage_table.py"


@pytest.fixture(scope="module")
def coverage_table():
    spec = importlib.util.spec_from_file_location("coverage_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_table_is_current():
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + "\n(run: python scripts/coverage_table.py)"


def test_every_operation_of_the_model_is_listed(coverage_table):
    from api_shapes import load_service
    from emulator.ecs import api

    table = coverage_table.coverage_markdown()
    for operation in load_service("ecs").operations:
        state = "yes" if operation in api.handlers().handlers else "no (UnsupportedFeatureException)"
        assert f"| `{operation}` | {state} |" in table


def test_only_the_text_between_the_markers_changes(coverage_table, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\nintro\n<!-- coverage:start -->\nold table\n<!-- coverage:end -->\n"
                      "\n## After\n")
    assert coverage_table.main(["--check", "--readme", str(readme)]) == 1
    assert coverage_table.main(["--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# Title\n\nintro\n<!-- coverage:start -->\n<!-- Generated")
    assert text.endswith("<!-- coverage:end -->\n\n## After\n")
    assert "old table" not in text
    assert coverage_table.main(["--check", "--readme", str(readme)]) == 0
    readme.write_text(text.replace("| yes |", "| no (UnsupportedFeatureException) |", 1))
    assert coverage_table.main(["--check", "--readme", str(readme)]) == 1


def test_a_missing_readme_gets_the_markers(coverage_table, tmp_path):
    readme = tmp_path / "README.md"
    assert coverage_table.main(["--check", "--readme", str(readme)]) == 1
    assert coverage_table.main(["--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("<!-- coverage:start -->") and text.endswith("<!-- coverage:end -->\n")


def test_a_readme_without_markers_is_an_error(coverage_table, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    assert coverage_table.main(["--readme", str(readme)]) == 2
    assert readme.read_text() == "# no markers\n"
