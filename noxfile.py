"""Development sessions: ``nox`` runs tests, lint and typecheck; ``nox -s docs`` builds the site;
``nox -s bench`` runs the benchmarks."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite against the installed package."""
    session.install(".[tests]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "src", "tests", "bench", "docs", "conftest.py", "noxfile.py")
    session.run(
        "ruff", "format", "--check", "src", "tests", "bench", "docs", "conftest.py", "noxfile.py"
    )


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package and on tests/typing (the public API as users write it)."""
    session.install(".[typing]")
    session.run("mypy", "--strict", "src", "tests/typing")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site with every warning an error (``mkdocs serve`` to browse).

    The docs' examples run in ``nox -s tests`` (conftest.py collects them with sybil).
    """
    session.install(".[docs]")
    session.run("mkdocs", "build", "--strict", *session.posargs)


@nox.session(default=False)
def spark(session: nox.Session) -> None:
    """The Spark recipe in local mode (needs Java 17; see docs/distributed.md)."""
    session.install(".[tests,spark]")
    session.run("pytest", "tests/spark", "-p", "no:cacheprovider", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Throughput, CPU per profile and memory of an export (see docs/benchmarks.md)."""
    session.install(".[tests]", "py-spy")  # py-spy: `cpu --flame`
    session.run("python", "bench/run.py", *session.posargs)


@nox.session(name="bench-workspace", default=False)
def bench_workspace(session: nox.Session) -> None:
    """The workspace's incremental-sync diff, memory, bytes and history (bench/workspace.py)."""
    session.install(".[tests]")
    session.run("python", "bench/workspace.py", *session.posargs)
