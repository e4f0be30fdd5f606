"""``python -m ac_segment_export``: the ``ac-segment-export`` command line (the same program)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the command line; say which extra to install when it is missing."""
    try:
        from ac_segment_export._cli import main as cli_main  # noqa: PLC0415 - the cli extra
    except ImportError as exc:
        if exc.name not in ("click", "rich"):
            raise
        print(
            "The command line needs its extra: pip install 'ac-segment-export[cli]'",
            file=sys.stderr,
        )
        return 2
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
