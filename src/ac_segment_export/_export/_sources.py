"""What an export reads: iterables of mappings, DataFrames, Arrow data and DuckDB relations.

:func:`open_source` turns whatever was passed to ``run`` into a :class:`Source`: an iterable
(or async iterable) of profile dicts, with the source's size and columns when it knows them.
Frames are read in chunks of :data:`CHUNK_ROWS` rows, only the mapped columns, and never
converted whole. pandas, polars, pyarrow and DuckDB are optional: a library is imported
only when the object passed is one of its own (recognised by its type's module).

:meth:`Source.check_columns` checks a :class:`FieldMapping` against the source's columns
before the first request: a frame's schema, or the first batch of a stream (which it peeks
and replays). A byte-order mark at the start of a column name (a CSV saved by Excel) is
dropped.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import AsyncIterable, Iterable, Iterator, Mapping, Sequence, Sized
from typing import TYPE_CHECKING, Any, Protocol

from ac_segment_export._core.errors import (
    ConfigurationError,
    MissingColumnError,
    UnsupportedSourceError,
)
from ac_segment_export._model._mapping import FieldMapping

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

__all__ = [
    "CHECK_ROWS",
    "CHUNK_ROWS",
    "ArrowStreamable",
    "AsyncSource",
    "Source",
    "SyncSource",
    "mapped_columns",
    "open_source",
]

#: Rows converted to dicts at a time from a frame.
CHUNK_ROWS = 4096
#: Profiles of a stream peeked to check the mapping's columns (the engine's first read).
CHECK_ROWS = 500

BOM = "\ufeff"

_ACCEPTED = (
    "an iterable of mappings (a list of dicts, a generator, csv.DictReader, a database "
    "cursor of dict rows), or a pandas or polars DataFrame, a pyarrow Table, RecordBatch or "
    "RecordBatchReader, or a DuckDB relation"
)


class ArrowStreamable(Protocol):
    """An object that exports its data as an Arrow C stream (DataFrames, tables, relations)."""

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        """The Arrow PyCapsule stream of the object's rows."""
        ...


def mapped_columns(mapping: object) -> tuple[str, dict[str, str]] | None:
    """The attribute names a :class:`FieldMapping` reads: ``(email, {optional name: role})``.

    A role says what the column feeds (``"first_name"``, ``"custom field 'TIER'"``, ``"tag
    'VIP'"``). ``None`` for a user's own mapper, whose reads cannot be known.
    """
    if not isinstance(mapping, FieldMapping):
        return None
    email = mapping.email.name
    roles: dict[str, str] = {}
    for slot in ("first_name", "last_name", "phone"):
        attribute = getattr(mapping, slot)
        if attribute is not None:
            roles.setdefault(attribute.name, slot)
    for ref, attribute in mapping.fields:
        roles.setdefault(attribute.name, f"custom field {ref!r}")
    for rule in mapping.tags:
        tag = getattr(rule, "tag", None)
        roles.setdefault(rule.attribute.name, f"tag {tag!r}" if tag else "tags")
    roles.pop(email, None)
    return email, roles


class Source:
    """Profiles to export, with what is known about them before the first read.

    :class:`SyncSource` is an iterable of profiles, :class:`AsyncSource` an async iterable.

    Attributes:
        kind: What was passed, for messages and logs (``"pandas DataFrame"``, ``"list"``).
        total: How many profiles it holds, when known without reading it.
        columns: The source's column names: a frame's schema, a stream's keys of its first
            batch once peeked; ``None`` while unknown.
        reiterable: Whether it can be read twice (``keep="last"`` reads it twice).
    """

    is_async = False

    def __init__(
        self,
        kind: str,
        *,
        total: int | None,
        columns: tuple[str, ...] | None,
        reiterable: bool,
        hints: dict[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.total = total
        self.columns = columns
        self.reiterable = reiterable
        self._hints = hints or {}
        self._frame = columns is not None
        self._head: list[Any] | None = None
        self._error: BaseException | None = None
        self._bom: tuple[str, ...] = ()
        self._peeked = self._frame
        self._read = 0

    def check_columns(self, mapping: object, *, allow_missing: bool, limit: int) -> None:
        """Refuse a :class:`FieldMapping` whose columns the source does not have.

        Args:
            mapping: The destination's mapping (a user's own mapper is not checked).
            allow_missing: Let optional mapped columns be absent (sparse data).
            limit: The most profiles the export may read (a stream's peek reads no more).

        Raises:
            MissingColumnError: Naming each missing column, the source's columns and the
                closest match.
            UnsupportedSourceError: A stream whose first batch holds no mapping.
        """
        wanted = mapped_columns(mapping)
        if wanted is None:
            return
        self.peek(limit)
        self._check(wanted, allow_missing=allow_missing)

    async def acheck_columns(self, mapping: object, *, allow_missing: bool, limit: int) -> None:
        """:meth:`check_columns`, peeking an async stream without blocking."""
        wanted = mapped_columns(mapping)
        if wanted is None:
            return
        await self.apeek(limit)
        self._check(wanted, allow_missing=allow_missing)

    def peek(self, limit: int = CHECK_ROWS) -> None:
        """Read a stream's first batch (at most *limit* + 1), replayed by the next iteration."""

    async def apeek(self, limit: int = CHECK_ROWS) -> None:
        """:meth:`peek`, for a source that may be async."""
        self.peek(limit)

    def _look(self, head: list[Any], error: BaseException | None) -> None:
        """Learn a stream's columns from its first batch; refuse a stream of non-mappings."""
        self._peeked = True
        self._head, self._error = head, error
        self._read = len(head)
        keys: dict[Any, None] = {}
        mappings = 0
        for profile in head:
            if not isinstance(profile, Mapping):
                continue
            mappings += 1
            try:
                for key in profile:
                    keys[key] = None
            except Exception:  # noqa: BLE001, S112 - a hostile mapping is rejected when read
                continue
        if head and not mappings:
            raise UnsupportedSourceError(_not_mappings(self.kind, head[0]))
        self._bom = tuple(k for k in keys if isinstance(k, str) and k.startswith(BOM))
        if head:
            self.columns = tuple(str(k).lstrip(BOM) for k in keys)

    def _check(self, wanted: tuple[str, dict[str, str]], *, allow_missing: bool) -> None:
        columns = self.columns
        if columns is None:  # an empty stream: nothing will be sent
            return
        email, optional = wanted
        have = set(columns)
        missing = [email] if email not in have else []
        if not allow_missing:
            missing += [name for name in optional if name not in have]
        if missing:
            where = (
                f"the {self.kind}'s columns"
                if self._frame
                else f"the first {self._read:,} profiles"
                if self._read > 1
                else "the first profile"
            )
            roles = {email: "the email", **optional}
            raise _missing_columns(
                missing, email, columns, where=where, roles=roles, hints=self._hints
            )


class SyncSource(Source):
    """An iterable source: a frame read in chunks, or a stream (its peeked batch replayed)."""

    def __init__(
        self,
        kind: str,
        *,
        total: int | None,
        columns: tuple[str, ...] | None,
        reiterable: bool,
        rows: Callable[[], Iterator[Mapping[str, Any]]] | None = None,
        stream: Iterable[Any] | None = None,
        hints: dict[str, str] | None = None,
    ) -> None:
        super().__init__(kind, total=total, columns=columns, reiterable=reiterable, hints=hints)
        self._rows = rows
        self._stream = stream
        self._rest: Iterator[Any] | None = None

    def __iter__(self) -> Iterator[Any]:
        if self._rows is not None:
            return self._rows()
        assert self._stream is not None
        if self._head is not None:
            rows = _replay(self._head, self._rest, self._error)
            self._head = self._rest = self._error = None
        else:
            rows = iter(self._stream)
        return _renamed(rows, self._bom) if self._bom else rows

    def peek(self, limit: int = CHECK_ROWS) -> None:
        """Read a stream's first batch (at most *limit* + 1), replayed by the next iteration."""
        if self._peeked:
            return
        assert self._stream is not None
        rest = iter(self._stream)
        head: list[Any] = []
        error: BaseException | None = None
        try:
            head.extend(itertools.islice(rest, min(CHECK_ROWS, limit + 1)))
        except Exception as exc:  # noqa: BLE001 - replayed after the rows read before it
            error = exc
        self._rest = rest
        self._look(head, error)


class AsyncSource(Source):
    """An async iterable source (:class:`AsyncExporter` only)."""

    is_async = True

    def __init__(self, kind: str, stream: AsyncIterable[Any]) -> None:
        super().__init__(kind, total=None, columns=None, reiterable=False)
        self._stream = stream
        self._rest: AsyncIterator[Any] | None = None

    def __aiter__(self) -> AsyncIterator[Any]:
        head, rest, error = self._head or [], self._rest, self._error
        self._head = self._rest = self._error = None
        return _areplay(head, rest or aiter(self._stream), error, self._bom)

    async def apeek(self, limit: int = CHECK_ROWS) -> None:
        """Read the stream's first batch (at most *limit* + 1), replayed by the next iteration."""
        if self._peeked:
            return
        rest = aiter(self._stream)
        head: list[Any] = []
        error: BaseException | None = None
        try:
            async for item in rest:
                head.append(item)
                if len(head) >= min(CHECK_ROWS, limit + 1):
                    break
        except Exception as exc:  # noqa: BLE001 - replayed after the rows read before it
            error = exc
        self._rest = rest
        self._look(head, error)


def _missing_columns(
    missing: list[str],
    email: str,
    columns: tuple[str, ...],
    *,
    where: str,
    roles: dict[str, str],
    hints: dict[str, str],
) -> MissingColumnError:
    folded: dict[str, str] = {}
    for column in columns:
        folded.setdefault(column.casefold(), column)
    suggestions: dict[str, str] = {}
    parts = []
    for name in missing:
        close = difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=0.6)
        part = f"{name!r} ({roles.get(name, 'mapped')})"
        if close:
            suggestions[name] = folded[close[0]]
            part += f", closest match {folded[close[0]]!r}"
        if name in hints:
            part += f"; {hints[name]}"
        parts.append(part)
    shown = ", ".join(map(repr, columns[:30])) + (
        f" and {len(columns) - 30} more" if len(columns) > 30 else ""
    )
    noun = "column" if len(missing) == 1 else "columns"
    msg = (
        f"The mapping reads {len(missing)} {noun} missing from {where}: "
        + "; ".join(parts)
        + f". The data has: {shown or '(no columns)'}. Fix the FieldMapping's attribute names"
    )
    if any(name != email for name in missing):
        msg += (
            " (or, for sparse data where an optional column can be absent, pass "
            "ExportOptions(allow_missing_columns=True))"
        )
    return MissingColumnError(msg + ".", missing=missing, columns=columns, suggestions=suggestions)


def _replay(
    head: list[Any], rest: Iterator[Any] | None, error: BaseException | None
) -> Iterator[Any]:
    yield from head
    if error is not None:
        raise error
    if rest is not None:
        yield from rest


async def _areplay(
    head: list[Any],
    rest: AsyncIterator[Any],
    error: BaseException | None,
    bom: tuple[str, ...],
) -> AsyncIterator[Any]:
    for profile in head:
        yield _unmarked(profile, bom) if bom else profile
    if error is not None:
        raise error
    async for profile in rest:
        yield _unmarked(profile, bom) if bom else profile


def _renamed(rows: Iterator[Any], bom: tuple[str, ...]) -> Iterator[Any]:
    for profile in rows:
        yield _unmarked(profile, bom)


def _unmarked(profile: Any, bom: tuple[str, ...]) -> Any:
    """*profile* with a byte-order mark dropped from its keys (a copy; the data is not changed)."""
    if not isinstance(profile, Mapping):
        return profile
    try:
        if not any(key in profile for key in bom):
            return profile
        return {(k.lstrip(BOM) if isinstance(k, str) else k): v for k, v in profile.items()}
    except Exception:  # noqa: BLE001 - a hostile mapping is rejected when it is read
        return profile


def _not_mappings(kind: str, first: object) -> str:
    what = type(first).__name__
    hint = ""
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        hint = " (DataFrame.itertuples() rows? pass the DataFrame itself)"
    elif isinstance(first, tuple) and len(first) == 2 and type(first[1]).__name__ == "Series":
        hint = " (DataFrame.iterrows() rows? pass the DataFrame itself)"
    return (
        f"profiles must be an iterable of mappings, but this {kind} holds {what} values"
        f"{hint}; pass {_ACCEPTED}."
    )


# -- classifying what was passed --------------------------------------------------------------


def open_source(
    profiles: object, *, allow_async: bool, columns: Sequence[str] | None = None
) -> SyncSource | AsyncSource:
    """The :class:`Source` for *profiles*, or a :class:`TypeError` saying what to pass.

    Args:
        profiles: What ``run`` was given.
        allow_async: Whether an async iterable is accepted (by :class:`AsyncExporter`).
        columns: The columns to read from a frame (all when ``None``).

    Raises:
        UnsupportedSourceError: *profiles* is not a source of mappings.
    """
    library = type(profiles).__module__.partition(".")[0].lstrip("_")
    if library in _FRAMES:
        source = _FRAMES[library](profiles, columns)
        if source is not None:
            return source
    if isinstance(profiles, str | bytes | bytearray | memoryview):
        raise UnsupportedSourceError(_text_message(profiles))
    if isinstance(profiles, Mapping):
        msg = (
            "profiles must be an iterable of mappings, not a single mapping "
            f"({type(profiles).__name__}); for one profile pass [profile], for a dict of "
            f"columns pass a DataFrame; in general, pass {_ACCEPTED}."
        )
        raise UnsupportedSourceError(msg)
    if _looks_like_a_frame(profiles):
        if hasattr(profiles, "__arrow_c_stream__"):
            return _arrow_stream(profiles, columns)
        msg = (
            f"profiles is a {_qualified(profiles)}, a kind of frame the exporter does not "
            "read; convert it to a pandas or polars DataFrame or a pyarrow Table, or pass "
            "an iterable of dicts."
        )
        raise UnsupportedSourceError(msg)
    is_sync = isinstance(profiles, Iterable)
    if allow_async and not is_sync and isinstance(profiles, AsyncIterable):
        return AsyncSource(f"async {type(profiles).__name__}", profiles)
    if not is_sync:
        if isinstance(profiles, AsyncIterable):
            msg = (
                f"profiles is an async iterable ({type(profiles).__name__}): the sync "
                "Exporter reads iterables only; use AsyncExporter (await "
                "AsyncExporter(...).run(profiles)), or pass a list or a generator."
            )
        else:
            a = "an async iterable, " if allow_async else ""
            msg = (
                f"profiles must be an iterable of mappings ({a}a list, a generator, a cursor), "
                f"not {type(profiles).__name__}; pass {_ACCEPTED}."
            )
        raise UnsupportedSourceError(msg)
    assert isinstance(profiles, Iterable)
    reiterable = iter(profiles) is not profiles
    total = len(profiles) if isinstance(profiles, Sized) else None
    return SyncSource(
        type(profiles).__name__,
        total=total,
        columns=None,
        reiterable=reiterable,
        stream=profiles,
    )


def _text_message(profiles: str | bytes | bytearray | memoryview) -> str:
    if isinstance(profiles, str):
        shown = profiles if len(profiles) <= 60 else profiles[:57] + "..."
        hint = ""
        if profiles.lower().endswith((".csv", ".tsv", ".txt")):
            hint = f" (a file name? read it: csv.DictReader(open({shown!r}, newline='')))"
        elif profiles.lower().endswith((".parquet", ".json", ".jsonl", ".xlsx")):
            hint = " (a file name? read it into a DataFrame first)"
        return (
            f"profiles must be an iterable of mappings, not a str ({shown!r}){hint}; "
            f"pass {_ACCEPTED}."
        )
    return (
        f"profiles must be an iterable of mappings, not {type(profiles).__name__}; "
        f"decode and parse the data first, then pass {_ACCEPTED}."
    )


def _qualified(obj: object) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def _looks_like_a_frame(obj: object) -> bool:
    """A DataFrame-like object of an unknown library (iterating it would yield column names)."""
    return (
        hasattr(obj, "__dataframe__")
        or hasattr(obj, "__arrow_c_stream__")
        or (hasattr(obj, "columns") and hasattr(obj, "dtypes"))
    )


def _frame_columns(
    names: Sequence[Any], kind: str, wanted: Sequence[str] | None
) -> tuple[tuple[str, ...], list[int], list[str]]:
    """The frame's column names (without a byte-order mark), and which positions to read."""
    clean = tuple(str(n).lstrip(BOM) for n in names)
    if wanted is None:
        chosen = list(range(len(clean)))
    else:
        first: dict[str, int] = {}
        counts: dict[str, int] = {}
        for i, name in enumerate(clean):
            first.setdefault(name, i)
            counts[name] = counts.get(name, 0) + 1
        doubled = [n for n in dict.fromkeys(wanted) if counts.get(n, 0) > 1]
        if doubled:
            msg = (
                f"The {kind} has {len(doubled)} mapped column name(s) more than once: "
                f"{', '.join(map(repr, doubled))}; rename the columns so each is unique."
            )
            raise ConfigurationError(msg)
        chosen = [first[n] for n in dict.fromkeys(wanted) if n in first]
    return clean, chosen, [clean[i] for i in chosen]


def _rows_of(names: list[str], columns: list[list[Any]]) -> list[dict[str, Any]]:
    """Row dicts from column lists (of one length), built by C loops: the hot path of frames."""
    return list(map(dict, map(zip, itertools.repeat(names), zip(*columns))))  # noqa: B905


# -- pandas -----------------------------------------------------------------------------------


def _pandas(frame: Any, wanted: Sequence[str] | None) -> SyncSource | None:
    import pandas as pd  # noqa: PLC0415 - the object is pandas', so pandas is there

    if isinstance(frame, pd.Series):
        msg = (
            "profiles is a pandas Series (one column); pass a DataFrame "
            "(series.to_frame(), or the frame it came from)."
        )
        raise UnsupportedSourceError(msg)
    if not isinstance(frame, pd.DataFrame):
        return None
    kind = "pandas DataFrame"
    columns, positions, names = _frame_columns(list(frame.columns), kind, wanted)
    hints = {
        str(name): "it is the frame's index: pass df.reset_index()"
        for name in frame.index.names
        if name is not None
    }
    size = len(frame)

    def rows() -> Iterator[dict[str, Any]]:
        for start in range(0, size, CHUNK_ROWS):
            part = frame.iloc[start : start + CHUNK_ROWS]
            if not positions:
                yield from ({} for _ in range(len(part)))
                continue
            yield from _rows_of(names, [part.iloc[:, i].tolist() for i in positions])

    return SyncSource(kind, total=size, columns=columns, reiterable=True, rows=rows, hints=hints)


# -- polars -----------------------------------------------------------------------------------


def _polars(frame: Any, wanted: Sequence[str] | None) -> SyncSource | None:
    import polars as pl  # noqa: PLC0415 - the object is polars', so polars is there

    if isinstance(frame, pl.LazyFrame):
        msg = (
            "profiles is a polars LazyFrame; collect it first (lazy.collect(), or "
            "lazy.collect(engine='streaming') for a large query) and pass the DataFrame."
        )
        raise UnsupportedSourceError(msg)
    if isinstance(frame, pl.Series):
        msg = "profiles is a polars Series (one column); pass a DataFrame (series.to_frame())."
        raise UnsupportedSourceError(msg)
    if not isinstance(frame, pl.DataFrame):
        return None
    kind = "polars DataFrame"
    columns, positions, names = _frame_columns(frame.columns, kind, wanted)
    size = frame.height
    original = [frame.columns[i] for i in positions]

    def rows() -> Iterator[dict[str, Any]]:
        for start in range(0, size, CHUNK_ROWS):
            part = frame.slice(start, CHUNK_ROWS)
            if not positions:
                yield from ({} for _ in range(part.height))
                continue
            yield from _rows_of(names, [part.get_column(c).to_list() for c in original])

    return SyncSource(kind, total=size, columns=columns, reiterable=True, rows=rows)


# -- pyarrow ----------------------------------------------------------------------------------


def _arrow_batches(
    batches: Iterable[Any], positions: list[int], names: list[str]
) -> Iterator[dict[str, Any]]:
    for batch in batches:
        for start in range(0, batch.num_rows, CHUNK_ROWS):
            part = batch.slice(start, CHUNK_ROWS)
            if not positions:
                yield from ({} for _ in range(part.num_rows))
                continue
            yield from _rows_of(names, [part.column(i).to_pylist() for i in positions])


def _pyarrow(data: Any, wanted: Sequence[str] | None) -> SyncSource | None:
    import pyarrow as pa  # noqa: PLC0415 - the object is pyarrow's, so pyarrow is there

    if isinstance(data, pa.RecordBatchReader):
        kind = "pyarrow RecordBatchReader"
        columns, positions, names = _frame_columns(data.schema.names, kind, wanted)
        return SyncSource(
            kind,
            total=None,
            columns=columns,
            reiterable=False,
            rows=_once(kind, lambda: _arrow_batches(data, positions, names)),
        )
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
        kind = "pyarrow RecordBatch"
    elif isinstance(data, pa.Table):
        kind = "pyarrow Table"
    elif isinstance(data, pa.Array | pa.ChunkedArray):
        msg = (
            f"profiles is a pyarrow {type(data).__name__} (one column); pass a Table "
            "(pa.table({...})) or a RecordBatchReader."
        )
        raise UnsupportedSourceError(msg)
    else:
        return None
    table = data
    columns, positions, names = _frame_columns(table.schema.names, kind, wanted)
    return SyncSource(
        kind,
        total=table.num_rows,
        columns=columns,
        reiterable=True,
        rows=lambda: _arrow_batches(table.to_batches(CHUNK_ROWS), positions, names),
    )


def _arrow_stream(data: Any, wanted: Sequence[str] | None) -> SyncSource:
    """An object of another library that exports an Arrow C stream, read with pyarrow."""
    try:
        import pyarrow as pa  # noqa: PLC0415 - optional
    except ImportError as exc:
        msg = (
            f"profiles is a {_qualified(data)}, read through its Arrow stream, which needs "
            "pyarrow: pip install 'ac-segment-export[arrow]' (or pass an iterable of dicts)."
        )
        raise UnsupportedSourceError(msg) from exc
    reader = pa.RecordBatchReader.from_stream(data)
    source = _pyarrow(reader, wanted)
    assert source is not None
    source.kind = f"{type(data).__name__} (Arrow stream)"
    return source


def _once(kind: str, make: Callable[[], Iterator[Any]]) -> Callable[[], Iterator[Any]]:
    """A reader of a single-pass source: a second read is an error, not an empty source."""
    used = False

    def rows() -> Iterator[Any]:
        nonlocal used
        if used:
            msg = f"A {kind} can be read only once."
            raise ConfigurationError(msg)
        used = True
        return make()

    return rows


# -- DuckDB -----------------------------------------------------------------------------------


def _duckdb(relation: Any, wanted: Sequence[str] | None) -> SyncSource | None:
    if type(relation).__name__ != "DuckDBPyRelation":
        if type(relation).__name__ == "DuckDBPyConnection":
            msg = (
                "profiles is a DuckDB connection; pass a relation: "
                "con.sql('SELECT ... FROM ...') or con.table('name')."
            )
            raise UnsupportedSourceError(msg)
        return None
    kind = "DuckDB relation"
    columns, positions, names = _frame_columns(list(relation.columns), kind, wanted)
    if wanted is not None:
        projected = relation.project(
            ", ".join('"' + str(relation.columns[i]).replace('"', '""') + '"' for i in positions)
        )
    else:
        projected = relation

    def rows() -> Iterator[dict[str, Any]]:
        if not positions:
            return
        arrow = _arrow_reader_of(projected)
        if arrow is not None:  # Arrow batches: the cheapest way to Python values
            yield from _arrow_batches(arrow, list(range(len(names))), names)
            return
        if hasattr(projected, "iter_rows"):
            tuples: Iterable[tuple[Any, ...]] = projected.iter_rows(CHUNK_ROWS)
        else:  # DuckDB 1.x: a relation runs once and is read with fetchmany
            result = projected.execute()
            tuples = itertools.chain.from_iterable(iter(lambda: result.fetchmany(CHUNK_ROWS), []))
        rows = iter(tuples)
        while chunk := list(itertools.islice(rows, CHUNK_ROWS)):
            yield from map(dict, map(zip, itertools.repeat(names), chunk))

    return SyncSource(kind, total=None, columns=columns, reiterable=True, rows=rows)


def _arrow_reader_of(relation: Any) -> Any:
    """The relation's rows as a pyarrow RecordBatchReader, or ``None`` without pyarrow."""
    try:
        import pyarrow  # noqa: F401, PLC0415 - optional: DuckDB hands Arrow batches to it
    except ImportError:
        return None
    if hasattr(relation, "to_arrow_reader"):
        return relation.to_arrow_reader(CHUNK_ROWS)
    return relation.fetch_record_batch(CHUNK_ROWS)  # DuckDB 1.x


_FRAMES: dict[str, Callable[[Any, Sequence[str] | None], SyncSource | None]] = {
    "pandas": _pandas,
    "polars": _polars,
    "pyarrow": _pyarrow,
    "duckdb": _duckdb,
}
