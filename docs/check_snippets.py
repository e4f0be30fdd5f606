"""Run the Python snippets of Markdown files, so the docs cannot rot.

Every fenced ``python`` block runs, in order, in one namespace per file; a block whose first
line is ``# not run`` (it needs a real account) is only compiled.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def check(path: Path) -> int:
    """Run one file's snippets; return how many ran."""
    namespace: dict[str, object] = {"__name__": f"snippets_{path.stem}"}
    count = 0
    for number, match in enumerate(BLOCK.finditer(path.read_text(encoding="utf-8")), 1):
        code = match.group(1)
        where = f"{path}, python block {number}"
        compiled = compile(code, where, "exec")
        if code.lstrip().startswith("# not run"):
            continue
        exec(compiled, namespace)  # noqa: S102 - running our own documentation
        count += 1
    return count


def main(paths: list[str]) -> int:
    """Check every file named on the command line."""
    total = 0
    for name in paths:
        ran = check(Path(name))
        print(f"{name}: {ran} snippet(s) ran")
        total += ran
    print(f"{total} snippets ran")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
