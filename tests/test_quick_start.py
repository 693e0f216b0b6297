"""The README's quick start and CI agree: .ci/run runs the README's test command exactly as written."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command() -> None:
    quick_start = (ROOT / "README.md").read_text().split("## Quick start")[1].split("\n## ")[0]
    commands = [block.split("\n")[1] for block in quick_start.split("```bash")[1:]]
    assert commands[1].endswith("python -m pytest -q")
    assert commands[1] in (ROOT / ".ci" / "run").read_text().splitlines()
