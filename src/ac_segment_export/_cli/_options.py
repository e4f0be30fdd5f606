"""The options several commands share, defined once (each is a click decorator)."""

from __future__ import annotations

import click

__all__ = [
    "API_KEY_ENV",
    "DRY_RUN",
    "HOST",
    "JSON",
    "MAP",
    "MODE",
    "NO_PROGRESS",
    "REPORT",
    "TAG",
    "USER",
]

MAP = click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="TARGET=COLUMN",
    help="Map a column: email, first_name, last_name, phone, field:PERSTAG, "
    'field:"Title", field:ID or tag (repeat it).',
)
TAG = click.option("--tag", "tags", multiple=True, help="A tag added to every contact (repeat it).")
HOST = click.option(
    "--host",
    envvar="AC_API_URL",
    metavar="HOST",
    help="Your API URL or host (Settings > Developer), or AC_API_URL.",
)
API_KEY_ENV = click.option(
    "--api-key-env",
    default="AC_API_KEY",
    show_default=True,
    metavar="NAME",
    help="The environment variable holding the API key (the key is never an option).",
)
USER = click.option(
    "--user",
    metavar="NAME",
    help="Who you are (default: AC_SEGMENT_EXPORT_USER or your login name).",
)
MODE = click.option(
    "--mode",
    type=click.Choice(["upsert", "mirror"]),
    default="upsert",
    show_default=True,
    help="mirror also unsubscribes list members not in the segment.",
)
DRY_RUN = click.option("--dry-run", is_flag=True, help="Count what would be sent; write nothing.")
REPORT = click.option("--report", "report_path", metavar="PATH", help="Write the JSON report here.")
NO_PROGRESS = click.option("--no-progress", is_flag=True, help="Show no progress.")
JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON object (for scripts).")
