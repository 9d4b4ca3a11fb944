"""The analyst notebooks run top to bottom against the demo outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from clnet_spark.dashboard.data import load_run

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def _text(notebook: nbformat.NotebookNode) -> str:
    out = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            out.append(output.get("text", ""))
            out.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(out)


def test_there_are_at_least_two_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == ["explore_groups.ipynb", "review_nominal.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_the_demo_outputs(
    path: Path, demo_outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = nbformat.read(path, as_version=4)
    assert notebook.cells[0].cell_type == "markdown"
    assert "Advisory intelligence for human assessment" in notebook.cells[0].source
    assert "from clnet_spark" in notebook.cells[1].source
    monkeypatch.setenv("CLNET_WAREHOUSE", str(demo_outputs))
    monkeypatch.delenv("CLNET_NOMINAL", raising=False)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    text = _text(notebook)
    assert f"run {load_run(demo_outputs).run.run_id}" in text
    assert "Traceback" not in text
