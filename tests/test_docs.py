"""Docs beyond the Markdown snippets: the notebook runs and shows what it says; logging.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbclient
import nbformat

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "notebooks" / "pandas-export.ipynb"


def _outputs(cell: Any) -> list[Any]:
    return list(cell.get("outputs", []))


def test_the_pandas_notebook_exports_a_frame_with_missing_values() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not _outputs(c) for c in notebook.cells), "commit the notebook without outputs"
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": "docs"}}
    )
    client.execute()
    code = [c for c in notebook.cells if c.cell_type == "code"]
    outputs = [o for c in code for o in _outputs(c)]
    assert not [o for o in outputs if o.output_type == "error"]
    stderr = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stderr")
    assert "IProgress" not in stderr  # the widget bar draws: ipywidgets is there
    assert "Warning" not in stderr
    widgets = [
        o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert widgets, "the progress bar is the notebook widget"

    (report,) = [o for o in _outputs(code[2]) if o.output_type == "execute_result"]
    assert "exported=3, rejected=2" in report.data["text/plain"]
    assert "<" in report.data["text/html"]

    printed = "".join(o.text for o in _outputs(code[3]) if o.output_type == "stream")
    assert "input 5 = exported 3 + rejected 2" in printed
    assert "row 2: rejected - email (attribute 'Email'): missing or empty" in printed
    assert "nan" not in printed.lower()

    (account,) = [o for o in _outputs(code[4]) if o.output_type == "execute_result"]
    table = account.data["text/plain"]
    assert "{1: '2024-01-15', 2: '3'}" in table  # Ana: both fields
    ben = next(line for line in table.splitlines() if "ben@example.org" in line)
    assert ben.rstrip().endswith("{}")  # NaT and pd.NA were not sent
    assert "NaT" not in table
    assert "nan" not in table.lower()


def test_docs_logging_names_every_logger_the_package_uses() -> None:
    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "logging.md").read_text()
    names = set()
    for path in (root / "src" / "ac_segment_export").rglob("*.py"):
        names |= set(re.findall(r"getLogger\(\"([^\"]+)\"\)", path.read_text()))
    assert names == {"ac_segment_export"}
    for name in names:
        assert f"| `{name}` |" in doc
    for level in ("INFO", "WARNING", "ERROR", "DEBUG"):
        assert f"**{level}**" in doc
