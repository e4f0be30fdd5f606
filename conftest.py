"""The documentation's examples, collected by pytest through sybil.

Every fenced ``python`` block of README.md and docs/*.md runs, in order, in one namespace per
file, and a failure names the file and the line. A block that needs something the suite does
not have (a real ActiveCampaign account, a Redis server, a cluster) starts with the line
``# not run: <what it needs>``: it is only compiled, so a syntax error still fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sybil import Sybil
from sybil.evaluators.python import PythonEvaluator, pad
from sybil.parsers.markdown import CodeBlockParser

if TYPE_CHECKING:
    from sybil import Example

NOT_RUN = "# not run:"


class DocsEvaluator:
    """Run a block, or only compile it when it says ``# not run: <reason>``."""

    def __init__(self) -> None:
        self._run = PythonEvaluator()

    def __call__(self, example: Example) -> None:
        """Evaluate one block in its file's namespace."""
        __tracebackhide__ = True
        source = str(example.parsed)
        first = source.lstrip().partition("\n")[0].strip()
        if first.startswith("# not run"):
            if not first.startswith(NOT_RUN) or not first[len(NOT_RUN) :].strip():
                raise ValueError(f"say what the block needs: {NOT_RUN} <reason>, not {first!r}")
            line = example.line + example.parsed.line_offset
            compile(pad(source, line), example.path, "exec", dont_inherit=True)
            return
        example.namespace.setdefault("__name__", "docs_example")
        self._run(example)


pytest_collect_file = Sybil(
    parsers=[CodeBlockParser(language="python", evaluator=DocsEvaluator())],
    patterns=["README.md", "docs/*.md"],
).pytest()
