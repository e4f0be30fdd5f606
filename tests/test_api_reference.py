"""Every public name has a docstring and an entry in the site's API reference (docs/reference/).

The docstrings are read as the site reads them: statically, by griffe (what mkdocstrings
uses), so a name whose docstring the reference would not find fails here, not just on a page.
"""

from __future__ import annotations

import re
from pathlib import Path

import griffe
import pytest

import ac_segment_export
import ac_segment_export.testing

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference"
DIRECTIVE = re.compile(r"^::: (\S+)$", re.MULTILINE)

PUBLIC = [f"ac_segment_export.{name}" for name in ac_segment_export.__all__] + [
    f"ac_segment_export.testing.{name}" for name in ac_segment_export.testing.__all__
]
# A string constant whose value says what it is; the reference index says it in prose.
PROSE = {"ac_segment_export.__version__"}


@pytest.fixture(scope="module")
def package() -> griffe.Module:
    loaded = griffe.load("ac_segment_export", search_paths=[str(ROOT / "src")])
    assert isinstance(loaded, griffe.Module)
    return loaded


def _entries() -> dict[str, str]:
    entries: dict[str, str] = {}
    for page in sorted(REFERENCE.glob("*.md")):
        for path in DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            assert path not in entries, f"{path} has two entries: {entries[path]} and {page.name}"
            entries[path] = page.name
    return entries


def test_every_public_name_has_a_reference_entry() -> None:
    entries = _entries()
    missing = [path for path in PUBLIC if path not in entries and path not in PROSE]
    assert not missing, f"add these to a page of docs/reference/: {missing}"
    index = (REFERENCE / "index.md").read_text(encoding="utf-8")
    assert all(f"`{path}`" in index for path in PROSE)


def test_every_reference_entry_is_a_public_name() -> None:
    modules = {"ac_segment_export", "ac_segment_export.testing"}
    stale = [path for path in _entries() if path not in PUBLIC and path not in modules]
    assert not stale, f"docs/reference/ documents names that are not public: {stale}"


@pytest.mark.parametrize("path", PUBLIC)
def test_every_public_name_has_a_docstring(package: griffe.Module, path: str) -> None:
    obj = package[path.removeprefix("ac_segment_export.")]
    target = obj.final_target if isinstance(obj, griffe.Alias) else obj
    assert target.docstring is not None, f"{path} ({target.filepath}) has no docstring"
    assert target.docstring.value.strip(), f"{path} has an empty docstring"
