"""Segments from files and queries: CSV and JSON Lines (standard library), Parquet, DuckDB SQL.

Each reader checks what it can before anything is sent (the file exists, is not empty, is
text in the stated encoding, has a header) and then streams: one line or one batch at a time,
never the whole file in memory. A line it cannot parse becomes an
:class:`~ac_segment_export.UnreadableProfile` naming the line, which the exporter reports as
a rejected profile; it never stops the export half-way.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import attrs

from ac_segment_export._model import UnreadableProfile

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["FORMATS", "InputError", "Segment", "open_query", "open_segment"]

Format = Literal["csv", "jsonl", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl", "parquet")
_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
#: How much of a text file is decoded up front to tell a wrong encoding before sending.
_PROBE_BYTES = 1 << 16
#: Rows a DuckDB result is fetched by (the exporter reads a relation in chunks of its own).
csv.field_size_limit(1 << 24)


class InputError(Exception):
    """The input cannot be read as a segment (a usage error: nothing was sent)."""


@attrs.define
class Segment:
    """Profiles to export, with what is known of them before the first is read.

    Attributes:
        rows: The profiles (mappings, and :class:`UnreadableProfile` for lines that
            could not be parsed), or a frame-like object the exporter reads directly.
        source: How to name the input in messages (``customers.csv``, ``standard input``).
        columns: The header, when the format has one.
        estimated_total: About how many profiles there are (for progress), when known.
    """

    rows: Any
    source: str
    columns: tuple[str, ...] | None = None
    estimated_total: int | None = None


def detect_format(path: str, explicit: str | None) -> Format:
    """The format of *path*: *explicit* when given, else from the suffix (CSV for ``-``)."""
    if explicit is not None:
        lowered = explicit.lower()
        if lowered not in FORMATS:
            msg = f"Unknown --format {explicit!r}: use one of {', '.join(FORMATS)}."
            raise InputError(msg)
        return lowered
    if path == "-":
        return "csv"
    suffix = Path(path).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    msg = f"Cannot tell the format of {path!r} from its name: pass --format ({', '.join(FORMATS)})."
    raise InputError(msg)


def open_segment(
    path: str,
    *,
    format: str | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    stdin: IO[bytes] | None = None,
) -> Segment:
    """Open *path* (``-`` for standard input) as a segment, checking it before any send.

    Raises:
        InputError: The file is missing, empty, not in *encoding*, or has no usable header.
    """
    kind = detect_format(path, format)
    try:
        codecs.lookup(encoding)
    except LookupError:
        msg = f"Unknown --encoding {encoding!r} (e.g. utf-8, utf-16, cp1252, latin-1)."
        raise InputError(msg) from None
    if kind == "parquet":
        if path == "-":
            msg = "Parquet cannot be read from standard input: pass the file's path."
            raise InputError(msg)
        return _parquet(_existing(path))
    if path == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        name = "standard input"
        total = None
    else:
        file = _existing(path)
        stream = file.open("rb")
        name = file.name
        total = _count_lines(file)
    head = stream.read(_PROBE_BYTES)
    if not head:
        stream.close()
        msg = f"{name} is empty: a segment needs a header line and one profile a line."
        raise InputError(msg)
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"  # a byte-order mark is no part of the first column's name
    _probe(head, encoding, name)
    lines = _lines(head, stream, encoding)
    if kind == "jsonl":
        return Segment(_json_lines(lines), name, None, total)
    return _csv(lines, name, delimiter, None if total is None else max(total - 1, 0))


_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def _attachment(value: str) -> tuple[str, str, str | None]:
    """``[ALIAS=]TARGET`` → ``(alias, target, type)``; the type from the suffix or scheme."""
    alias, sep, target = value.partition("=")
    if not sep or "://" in alias:
        alias, target = "", value
    target = target.strip()
    if target.startswith(("postgres://", "postgresql://")):
        kind: str | None = "postgres"
        alias = alias or "pg"
    else:
        suffix = Path(target).suffix.lower()
        kind = "sqlite" if suffix in _SQLITE_SUFFIXES else None
        if not Path(target).expanduser().exists():
            msg = f"--attach {value!r}: no such database file {target!r}."
            raise InputError(msg)
        alias = alias or re.sub(r"\W", "_", Path(target).stem) or "db"
    if not _ALIAS.match(alias):
        msg = f"--attach {value!r}: {alias!r} is not a usable name (letters, digits, _)."
        raise InputError(msg)
    return alias, target, kind


def open_query(
    sql: str, *, database: str | None = None, attach: tuple[str, ...] | list[str] = ()
) -> Segment:
    """The rows of a DuckDB query, streamed (DuckDB reads CSV, Parquet and JSON files itself).

    Args:
        sql: The query.
        database: A DuckDB database file to open (read-only) as the query's default.
        attach: Databases to attach read-only, each ``[ALIAS=]TARGET``: a DuckDB file, a
            SQLite file (``.db``, ``.sqlite``, ``.sqlite3``) or a ``postgresql://`` URL
            (DuckDB's sqlite and postgres extensions, which DuckDB installs on first use).

    Raises:
        InputError: DuckDB is not installed, an attachment fails, or the query fails.
    """
    try:
        import duckdb  # noqa: PLC0415 - the duckdb extra
    except ImportError:
        msg = "--sql needs DuckDB: pip install 'ac-segment-export[duckdb]'."
        raise InputError(msg) from None
    if not sql.strip():
        msg = "--sql is empty: give a query, e.g. \"SELECT * FROM 'customers.parquet'\"."
        raise InputError(msg)
    attachments = [_attachment(a) for a in attach]
    try:
        con = duckdb.connect(database or ":memory:", read_only=database is not None)
    except duckdb.Error as exc:
        msg = f"--database {database!r} cannot be opened: {exc}"
        raise InputError(msg) from None
    for alias, target, kind in attachments:
        options = f"TYPE {kind}, READ_ONLY" if kind else "READ_ONLY"
        quoted = target.replace("'", "''")
        try:
            con.execute(f"ATTACH '{quoted}' AS {alias} ({options})")
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            hint = (
                f" DuckDB installs its {kind} extension on first use (it needs to reach "
                f"extensions.duckdb.org once, or run INSTALL {kind} where it can)."
                if kind and "extension" in str(exc).lower()
                else ""
            )
            shown = alias if kind == "postgres" else target
            msg = f"--attach {shown!r} failed: {first}{hint}"
            raise InputError(msg) from None
    try:
        relation: Any = con.sql(sql)  # None for a statement that returns no rows
    except duckdb.Error as exc:
        msg = f"The query failed: {exc}"
        raise InputError(msg) from None
    if relation is None:
        msg = "--sql must be a query that returns rows (a SELECT), not a statement."
        raise InputError(msg)
    return Segment(relation, "the query", tuple(relation.columns), None)


def _existing(path: str) -> Path:
    file = Path(path).expanduser()
    if not file.exists():
        msg = f"No such file: {path!r}."
        raise InputError(msg)
    if file.is_dir():
        msg = f"{path!r} is a directory, not a file."
        raise InputError(msg)
    return file


def _count_lines(file: Path) -> int:
    count = 0
    last = b"\n"
    with file.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def _probe(head: bytes, encoding: str, name: str) -> None:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(head, final=False)
    except UnicodeDecodeError as exc:
        msg = (
            f"{name} is not {encoding.removesuffix('-sig')} text (byte {exc.start}: "
            f"{head[exc.start : exc.start + 1]!r}); pass --encoding (e.g. cp1252 or "
            "latin-1), or save the file as UTF-8."
        )
        raise InputError(msg) from None
    if b"\x00" in head and not encoding.lower().startswith("utf-16"):
        msg = f"{name} holds NUL bytes: it looks binary (or UTF-16: pass --encoding utf-16)."
        raise InputError(msg)


def _lines(head: bytes, stream: IO[bytes], encoding: str) -> Iterator[str]:
    """Decoded lines; a byte that does not decode stays as a lone surrogate, found later."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="surrogateescape")
    pending = ""
    chunk = head
    try:
        while chunk:
            pending += decoder.decode(chunk)
            *complete, pending = pending.split("\n")
            for line in complete:
                yield line + "\n"
            chunk = stream.read(1 << 16)
        pending += decoder.decode(b"", final=True)
        if pending:
            yield pending
    finally:
        stream.close()


_SURROGATE = re.compile("[\ud800-\udfff]")


def _undecodable(values: Iterable[str]) -> bool:
    """Whether a value holds a byte that did not decode (a lone surrogate)."""
    return any(_SURROGATE.search(value) for value in values)


def _csv(lines: Iterator[str], name: str, delimiter: str | None, total: int | None) -> Segment:
    first = next(lines, "")
    if not first.strip():
        msg = f"{name} has no header on its first line (the column names)."
        raise InputError(msg)
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    header = next(csv.reader([first], delimiter=delimiter))
    header = [h.strip() for h in header]
    if _undecodable(header):
        msg = f"{name}'s header is not in the given encoding: pass --encoding."
        raise InputError(msg)
    blank = [i + 1 for i, h in enumerate(header) if not h]
    if blank:
        msg = f"{name}'s header has a column without a name (column {blank[0]})."
        raise InputError(msg)
    seen: set[str] = set()
    twice = [h for h in header if h in seen or seen.add(h)]  # type: ignore[func-returns-value]
    if twice:
        msg = f"{name}'s header names {twice[0]!r} twice: each column needs its own name."
        raise InputError(msg)
    return Segment(_csv_rows(lines, header, delimiter), name, tuple(header), total)


def _csv_rows(lines: Iterator[str], header: list[str], delimiter: str) -> Iterator[Any]:
    numbered = _Numbered(lines)
    reader = csv.reader(numbered, delimiter=delimiter, strict=True)
    width = len(header)
    while True:
        start = numbered.line + 1
        numbered.taken.clear()
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield UnreadableProfile(f"line {start}: malformed CSV ({exc})" + numbered.reread())
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line holds no profile
        if len(row) != width:
            reason = f"line {start}: {len(row)} fields, the header has {width}"
            yield UnreadableProfile(reason + numbered.reread())
            continue
        if _undecodable(row):
            yield UnreadableProfile(f"line {start}: not valid text in the file's encoding")
            continue
        yield dict(zip(header, row, strict=True))


class _Numbered:
    """An iterator of lines that counts them (the file's line number: the header is 1).

    A record that went wrong after spanning several lines (a quote left open swallows every
    line up to the next quote) gives its later lines back, to be read again as records of
    their own: one bad quote costs one profile, not the rest of the file.
    """

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._back: list[str] = []
        self.taken: list[str] = []
        self.line = 1

    def __iter__(self) -> _Numbered:
        return self

    def __next__(self) -> str:
        line = self._back.pop() if self._back else next(self._lines)
        self.line += 1
        self.taken.append(line)
        return line

    def reread(self) -> str:
        """Give back the lines the last record took after its first; what to add to a reason."""
        later = self.taken[1:]
        if not later:
            return ""
        self._back.extend(reversed(later))
        self.line -= len(later)
        return " (a quote left open? the lines after it are read on their own)"


def _json_lines(lines: Iterator[str]) -> Iterator[Any]:
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield UnreadableProfile(f"line {number}: not JSON ({exc.msg}, column {exc.colno})")
            continue
        except UnicodeError:  # a lone surrogate: bytes that did not decode
            yield UnreadableProfile(f"line {number}: not valid text in the file's encoding")
            continue
        if not isinstance(value, dict):
            kind = "a list" if isinstance(value, list) else f"a JSON {type(value).__name__}"
            yield UnreadableProfile(f"line {number}: {kind}, not an object")
            continue
        if _undecodable(k for k in value) or _undecodable(
            v for v in value.values() if isinstance(v, str)
        ):
            yield UnreadableProfile(f"line {number}: not valid text in the file's encoding")
            continue
        yield value


def _parquet(file: Path) -> Segment:
    try:
        import pyarrow as pa  # noqa: PLC0415 - the parquet extra
        import pyarrow.parquet as pq  # noqa: PLC0415
    except ImportError:
        msg = "Parquet files need pyarrow: pip install 'ac-segment-export[parquet]'."
        raise InputError(msg) from None
    try:
        parquet = pq.ParquetFile(file)
    except (pa.ArrowInvalid, OSError) as exc:
        msg = f"{file.name} is not a Parquet file ({exc})."
        raise InputError(msg) from None
    schema = parquet.schema_arrow
    reader = pa.RecordBatchReader.from_batches(schema, parquet.iter_batches(batch_size=10_000))
    return Segment(reader, file.name, tuple(schema.names), parquet.metadata.num_rows)
