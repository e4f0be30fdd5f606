"""The ``ac-segment-export`` program: the group, its exit codes and how errors are shown.

Every command fails the same way: one line on standard error naming the problem and the fix
(a traceback only with ``--debug``), and an exit code from :class:`ExitCode`. With ``--json``
the failure is one object on standard output instead.
"""

from __future__ import annotations

import enum
import functools
import getpass
import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import click

from ac_segment_export._cli._mapping import MapError
from ac_segment_export._cli._readers import InputError
from ac_segment_export._core.errors import (
    ACSegmentExportError,
    APIError,
    AuthenticationError,
    ConfigurationError,
    ExportAbortedError,
    HostNotFoundError,
    PolicyError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["CliError", "ExitCode", "cli", "main"]

P = ParamSpec("P")
R = TypeVar("R")


class ExitCode(enum.IntEnum):
    """What the program's exit status means (documented in docs/cli.md)."""

    #: The work is done: every profile exported (or unchanged, a duplicate, skipped).
    OK = 0
    #: The export ran to its end, but some profiles were rejected, failed or are unknown.
    FAILED_PROFILES = 1
    #: A usage or configuration problem (an option, the input, the mapping, the host, the
    #: key's variable): nothing was sent.
    USAGE = 2
    #: No data-privacy consent, or no permission: nothing was sent.
    CONSENT = 3
    #: The export stopped as a whole: Ctrl-C, a refused key, repeated failures.
    ABORTED = 4


class CliError(click.ClickException):
    """A failure with its exit code, shown as one line."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.exit_code = int(code)  # type: ignore[misc] # click's is a class default

    def show(self, file: Any = None) -> None:
        """Print ``error: <message>`` on standard error."""
        click.echo(f"error: {self.format_message()}", err=True)


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code of a library error."""
    if isinstance(exc, PolicyError):
        return ExitCode.CONSENT
    if isinstance(exc, ExportAbortedError | AuthenticationError | KeyboardInterrupt):
        return ExitCode.ABORTED
    if isinstance(exc, HostNotFoundError | ConfigurationError | InputError | MapError):
        return ExitCode.USAGE
    if isinstance(exc, APIError):
        return ExitCode.ABORTED
    return ExitCode.USAGE


def handled(func: Callable[P, R]) -> Callable[P, R]:
    """Turn the library's errors into one line and an exit code (unless ``--debug``)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        ctx = click.get_current_context()
        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (ACSegmentExportError, InputError, MapError) as exc:
            if (ctx.find_root().obj or {}).get("debug"):
                raise
            fail(for_the_command_line(str(exc)), exit_code_for(exc), kind=type(exc).__name__)
        except KeyboardInterrupt:
            # an export reports its own interruption (ExportAbortedError); this is anything else,
            # run --due between or inside runs included (their history rows say what ran)
            fail("interrupted (Ctrl-C)", ExitCode.ABORTED)

    return wrapper


_OPTION_NAMES = {
    "max_unsubscribe_fraction": "--max-unsubscribe-fraction",
    "allow_empty=True": "--allow-empty",
    "max_profiles": "--max-profiles",
}


def for_the_command_line(message: str) -> str:
    """A library message with its option names as the command line spells them."""
    for name, option in _OPTION_NAMES.items():
        message = message.replace(name, option)
    return message


def fail(message: str, code: ExitCode, *, kind: str = "error") -> NoReturn:
    """Stop with *message*; with ``--json``, as an object on standard output."""
    ctx = click.get_current_context()
    if ctx.params.get("as_json"):
        from ac_segment_export._cli._console import emit_json  # noqa: PLC0415

        emit_json(
            {"ok": False, "exit_code": int(code), "error": {"type": kind, "message": message}}
        )
        ctx.exit(int(code))
    raise CliError(message, code)


def user_name(value: str | None) -> str:
    """Who is acting: ``--user``, else ``AC_SEGMENT_EXPORT_USER``, else the login name."""
    if value:
        return value
    env = os.environ.get("AC_SEGMENT_EXPORT_USER")
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "command-line user"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="ac-segment-export", prog_name="ac-segment-export")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:  # noqa: FBT001 - a click flag
    """Export customer segments into ActiveCampaign lists.

    The API key is read from the environment (AC_API_KEY, or the variable --api-key-env
    names), never from the command line. Try everything with no account: --sandbox runs
    against the built-in emulator.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    if debug:
        import logging  # noqa: PLC0415

        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> int:
    """Run the program; return its exit status."""
    from ac_segment_export._cli import _commands, _saved  # noqa: F401, PLC0415 - registers them

    try:
        result = cli.main(args=argv, prog_name="ac-segment-export", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        return int(ExitCode.ABORTED)
    return int(result) if isinstance(result, int) else 0


def run() -> NoReturn:
    """The console script's entry point."""
    sys.exit(main())
