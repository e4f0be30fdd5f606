"""The docs' examples are collected by conftest.py (sybil): a broken one fails with its place."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PAGE = """# A page

```python
total = 1 + 1
```

Prose between the blocks; the namespace carries over.

```python
assert total == 3, "arithmetic"
```

```python
# not run: needs a real account
def broken(:
```

```python
# not run
print("a marker without a reason")
```

```python
# not run: needs a real account
client.export()  # compiled only: the name is not defined and nothing fails
```
"""


def test_a_broken_example_fails_with_its_file_and_line(tmp_path: Path) -> None:
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text(PAGE, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", "docs"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 1, out
    assert "3 failed, 2 passed" in out, out
    assert "docs/page.md:10: AssertionError" in out, out  # the failing line of the page
    assert "FAILED docs/page.md::line:9,column:1" in out, out
    assert "SyntaxError" in out, out  # a not-run block is still compiled
    assert "FAILED docs/page.md::line:13,column:1" in out, out
    assert "say what the block needs: # not run: <reason>" in out, out
    assert "PASSED docs/page.md::line:23,column:1" in out, out
