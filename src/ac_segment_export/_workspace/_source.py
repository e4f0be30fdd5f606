"""``SavedSource``: where a saved export reads its segment (a file or a DuckDB query).

The workspace stores it with the export, as JSON, and hands it back on
:class:`SavedExport`; reading it is the caller's job (the command line's readers, or your
own ``open_source`` given to :meth:`Workspace.run_due`).
"""

from __future__ import annotations

import codecs
from typing import Any, Literal

import attrs

from ac_segment_export._core.errors import ConfigurationError

__all__ = ["SavedSource"]

SourceFormat = Literal["csv", "jsonl", "parquet"]
#: The file formats a saved source may name.
SOURCE_FORMATS: tuple[SourceFormat, ...] = ("csv", "jsonl", "parquet")
_KEYS = {"input", "format", "sql", "database", "encoding", "delimiter"}


def _text(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        msg = f"A saved source's {name} must be a non-empty string, not {value!r}."
        raise ConfigurationError(msg)
    return value.strip()


def _query(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        msg = f"A saved source's sql must be a non-empty query, not {value!r}."
        raise ConfigurationError(msg)
    return value


def _format(value: object) -> SourceFormat | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in SOURCE_FORMATS:
        msg = f"A saved source's format must be one of {', '.join(SOURCE_FORMATS)}, not {value!r}."
        raise ConfigurationError(msg)
    return SOURCE_FORMATS[SOURCE_FORMATS.index(value.lower())]


def _encoding(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        msg = f"A saved source's encoding must be a codec name like 'utf-8', not {value!r}."
        raise ConfigurationError(msg)
    try:
        codecs.lookup(value.strip())
    except LookupError:
        msg = f"Unknown encoding {value!r} (e.g. utf-8, utf-16, cp1252, latin-1)."
        raise ConfigurationError(msg) from None
    return value.strip()


def _input(value: object) -> str | None:
    return _text(value, "input")


def _database(value: object) -> str | None:
    return _text(value, "database")


def _delimiter(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 1 or value in '\r\n"':
        msg = f"A saved source's delimiter must be one character (, ; tab |), not {value!r}."
        raise ConfigurationError(msg)
    return value


@attrs.frozen
class SavedSource:
    """Where a saved export's segment comes from: a file (``input``) or a query (``sql``).

    Exactly one of *input* and *sql*. Nothing is opened when it is made or saved; the path
    is read at run time, relative to the working directory of the process that runs it
    (save an absolute path for a scheduler).

    Args:
        input: A CSV, JSON Lines or Parquet file's path (not ``-``: a scheduled run has no
            standard input).
        format: The file's format (``"csv"``, ``"jsonl"``, ``"parquet"``); default: from its
            suffix.
        sql: A DuckDB query whose rows are the segment.
        database: A DuckDB database file for *sql* (opened read-only).
        encoding: The text file's encoding (CSV and JSON Lines).
        delimiter: The CSV delimiter (default: sniffed from the header).

    Raises:
        ConfigurationError: Neither or both of *input* and *sql*, an option that does not go
            with the other (a *format* for a query, a *database* for a file, a delimiter for
            JSON Lines or Parquet), or an invalid value.
    """

    input: str | None = attrs.field(default=None, converter=_input)
    format: SourceFormat | None = attrs.field(default=None, converter=_format)
    sql: str | None = attrs.field(default=None, converter=_query)
    database: str | None = attrs.field(default=None, converter=_database)
    encoding: str = attrs.field(default="utf-8", converter=_encoding)
    delimiter: str | None = attrs.field(default=None, converter=_delimiter)

    def __attrs_post_init__(self) -> None:
        if (self.input is None) == (self.sql is None):
            msg = (
                "A saved source is a file or a query: pass input= (a CSV, JSON Lines or "
                "Parquet path) or sql= (a DuckDB query), exactly one of them."
            )
            raise ConfigurationError(msg)
        if self.input == "-":
            msg = (
                "A saved source cannot be standard input (a scheduled run has none): save "
                "the file's path."
            )
            raise ConfigurationError(msg)
        if self.sql is not None:
            given = [n for n in ("format", "delimiter") if getattr(self, n) is not None]
            if self.encoding != "utf-8":
                given.append("encoding")
            if given:
                msg = f"A query source takes no {' or '.join(given)} (those are for files)."
                raise ConfigurationError(msg)
        elif self.database is not None:
            msg = "database= goes with sql=: a file source has no DuckDB database."
            raise ConfigurationError(msg)
        if self.delimiter is not None and self.format in ("jsonl", "parquet"):
            msg = f"A delimiter is for CSV files, not {self.format}."
            raise ConfigurationError(msg)

    @property
    def kind(self) -> Literal["file", "query"]:
        """``"file"`` or ``"query"``."""
        return "file" if self.input is not None else "query"

    def to_dict(self) -> dict[str, str]:
        """A JSON-able dict of the values that are set (read back by :meth:`from_dict`)."""
        data = attrs.asdict(self)
        if data["encoding"] == "utf-8":
            del data["encoding"]
        return {k: v for k, v in data.items() if v is not None}

    @classmethod
    def from_dict(cls, data: Any) -> SavedSource:
        """A source from :meth:`to_dict`'s output.

        Raises:
            ConfigurationError: Not such a dict, or an invalid value.
        """
        if not isinstance(data, dict) or set(data) - _KEYS:
            msg = f"A saved source must be a dict with keys among {sorted(_KEYS)}, not {data!r}."
            raise ConfigurationError(msg)
        return cls(**data)
