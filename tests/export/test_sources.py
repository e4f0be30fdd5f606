"""Sources: frames read directly in chunks, wrong sources refused, mappings checked up front."""

from __future__ import annotations

import csv
import io
import sys
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from ac_segment_export import (
    AsyncExporter,
    ConfigurationError,
    ExportDestination,
    Exporter,
    ExportOptions,
    FieldMapping,
    MissingColumnError,
    OutcomeStatus,
    UnsupportedSourceError,
)
from ac_segment_export._export import _sources

from .conftest import fast

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

    from ac_segment_export import AsyncClient, Client
    from ac_segment_export.testing import ActiveCampaignEmulator


def frame(n: int = 6) -> pd.DataFrame:
    """*n* rows with every kind of missing value; row 2 has no email, row 4 a bad one."""
    emails: list[Any] = [f"user{i}@example.com" for i in range(n)]
    emails[2] = np.nan
    emails[4] = "not-an-email"
    return pd.DataFrame(
        {
            "email": emails,
            "first": [f"First{i}" if i % 2 else None for i in range(n)],
            "last": ["Last"] * n,
            "phone": [np.nan] * n,
            "tier": pd.array([("gold" if i % 3 else pd.NA) for i in range(n)], dtype="string"),
            "unused": list(range(n)),
        }
    )


def _duckdb(df: pd.DataFrame) -> Any:
    con = duckdb.connect()
    con.register("segment", pa.Table.from_pandas(df, preserve_index=False))
    return con.sql("SELECT * FROM segment")


KINDS: dict[str, Callable[[pd.DataFrame], Any]] = {
    "pandas": lambda df: df,
    "polars": pl.from_pandas,
    "arrow-table": lambda df: pa.Table.from_pandas(df, preserve_index=False),
    "arrow-batch": lambda df: pa.RecordBatch.from_pandas(df, preserve_index=False),
    "arrow-reader": lambda df: pa.Table.from_pandas(df, preserve_index=False).to_reader(2),
    "duckdb": _duckdb,
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_frame_kind_exports_directly(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client, kind: str
) -> None:
    """Before: ``run(df)`` iterated the column names and rejected one "profile" per column."""
    report = Exporter(destination, client=client, options=fast()).run(KINDS[kind](frame()))
    assert report.input_count == 6
    assert report.exported == 4
    rejected = {o.position: o.reason for o in report.by_status(OutcomeStatus.REJECTED)}
    assert sorted(rejected) == [2, 4]
    assert "missing" in (rejected[2] or "")
    members = emu.list_members(1)
    assert set(members) == {f"user{i}@example.com" for i in (0, 1, 3, 5)}
    one = emu.contact_by_email("user1@example.com")
    zero = emu.contact_by_email("user0@example.com")
    assert one is not None
    assert zero is not None
    assert (one.first_name, one.phone) == ("First1", "")  # NaN phone: not sent
    assert zero.first_name == ""  # None: not sent, never "None" or "nan"
    assert emu.field_values(one.id) == {1: "gold"}
    assert emu.field_values(zero.id) == {}  # pd.NA: not sent


@pytest.mark.anyio
async def test_the_async_exporter_reads_frames_too(
    emu: ActiveCampaignEmulator, destination: ExportDestination, aclient: AsyncClient
) -> None:
    report = await AsyncExporter(destination, client=aclient, options=fast()).run(
        pl.from_pandas(frame())
    )
    assert (report.input_count, report.exported) == (6, 4)


def test_a_frame_is_read_in_chunks_not_converted_whole(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """Rows become dicts a chunk at a time, as the export goes, never the whole frame."""
    chunks = 10
    size = _sources.CHUNK_ROWS
    table = pa.Table.from_pandas(frame(chunks * size), preserve_index=False)
    read = 0

    def batches() -> Iterator[pa.RecordBatch]:
        nonlocal read
        for batch in table.to_batches(size):
            read += 1
            yield batch

    reader = pa.RecordBatchReader.from_batches(table.schema, batches())
    read_at_first_export: list[int] = []

    def sink(_: object) -> None:
        if not read_at_first_export:
            read_at_first_export.append(read)

    options = fast(max_in_flight=1)
    report = Exporter(destination, client=client, options=options, exported_sink=sink).run(reader)
    assert report.input_count == chunks * size
    assert read == chunks
    assert read_at_first_export[0] <= 2


def test_only_mapped_columns_are_converted() -> None:
    source = _sources.open_source(frame(), allow_async=False, columns=["email", "tier"])
    assert isinstance(source, _sources.SyncSource)
    rows = list(source)
    assert set(rows[0]) == {"email", "tier"}
    assert source.columns == ("email", "first", "last", "phone", "tier", "unused")
    assert source.total == 6


def test_keep_last_reads_a_frame_twice_but_refuses_a_reader(
    destination: ExportDestination, client: Client
) -> None:
    df = pd.DataFrame(
        {
            "email": ["a@example.com", "A@example.com"],
            "first": ["One", "Two"],
            "last": ["L", "L"],
            "phone": [None, None],
            "tier": [None, None],
        }
    )
    report = Exporter(destination, client=client, options=fast(keep="last")).run(df)
    assert report.exported == 1
    assert report.by_status(OutcomeStatus.DUPLICATE)[0].position == 0
    reader = pa.Table.from_pandas(df).to_reader()
    with pytest.raises(ConfigurationError, match="reads the source twice"):
        Exporter(destination, client=client, options=fast(keep="last")).run(reader)


def test_a_dry_run_takes_a_frame(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    report = Exporter(destination, client=client, options=fast(dry_run=True)).run(frame())
    assert (report.input_count, report.exported) == (6, 4)
    assert emu.list_members(1) == {}


class ArrowStream:
    """An object of some other library that offers its rows as an Arrow C stream."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self.table.__arrow_c_stream__(requested_schema)


def test_an_arrow_streamable_object_is_read_through_pyarrow(
    destination: ExportDestination, client: Client
) -> None:
    stream = ArrowStream(pa.Table.from_pandas(frame(), preserve_index=False))
    report = Exporter(destination, client=client, options=fast()).run(stream)
    assert (report.input_count, report.exported) == (6, 4)


# -- what is not a source is a TypeError before any request -------------------------------------


class UnknownFrame:
    """A DataFrame-like object of a library the exporter does not read."""

    columns = ("email",)
    dtypes = ("object",)

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns)


async def _profiles() -> AsyncIterator[dict[str, Any]]:
    yield {"email": "a@example.com"}


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: "segment.csv", r"not a str \('segment.csv'\).*csv.DictReader"),
        (lambda: b"email\na@example.com", "not bytes"),
        (lambda: {"email": "a@example.com"}, r"not a single mapping.*pass \[profile\]"),
        (lambda: frame().itertuples(), r"itertuples\(\) rows\? pass the DataFrame itself"),
        (lambda: frame().iterrows(), r"iterrows\(\) rows\? pass the DataFrame itself"),
        (lambda: ["a@example.com", "b@example.com"], "holds str values"),
        (lambda: frame()["email"], "pandas Series"),
        (lambda: pl.from_pandas(frame()).lazy(), r"LazyFrame; collect it first"),
        (lambda: pl.from_pandas(frame())["email"], "polars Series"),
        (lambda: pa.array([1, 2]), "one column"),
        (duckdb.connect, "DuckDB connection; pass a relation"),
        (UnknownFrame, "a kind of frame the exporter does not read"),
        (lambda: 42, "not int"),
        (_profiles, r"async iterable \(async_generator\).*use AsyncExporter"),
    ],
    ids=[
        "str",
        "bytes",
        "mapping",
        "itertuples",
        "iterrows",
        "strings",
        "pandas-series",
        "lazyframe",
        "polars-series",
        "arrow-array",
        "duckdb-connection",
        "unknown-frame",
        "int",
        "async-to-sync",
    ],
)
def test_what_is_not_a_source_is_a_type_error_before_any_request(
    emu: ActiveCampaignEmulator,
    destination: ExportDestination,
    client: Client,
    make: Callable[[], Any],
    match: str,
) -> None:
    """Before: ``run("segment.csv")`` rejected one profile per character, and exited fine."""
    with pytest.raises(UnsupportedSourceError, match=match) as caught:
        Exporter(destination, client=client, options=fast()).run(make())
    assert isinstance(caught.value, TypeError)
    assert emu.requests == []


@pytest.mark.anyio
async def test_the_async_exporter_refuses_a_string_too(
    emu: ActiveCampaignEmulator, destination: ExportDestination, aclient: AsyncClient
) -> None:
    with pytest.raises(TypeError, match="not a str"):
        await AsyncExporter(destination, client=aclient).run("segment.csv")  # type: ignore[arg-type]
    assert emu.requests == []


# -- the mapping checked against the source's columns -------------------------------------------


def test_a_misnamed_email_column_is_an_error_naming_the_closest_column(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """Before: ``FieldMapping(email="Email")`` on ``email`` data rejected every row one by one."""
    df = frame().rename(columns={"email": "Email"})
    with pytest.raises(MissingColumnError) as caught:
        Exporter(destination, client=client, options=fast()).run(df)
    error = caught.value
    assert error.missing == ("email",)
    assert error.suggestions == {"email": "Email"}
    assert error.columns == ("Email", "first", "last", "phone", "tier", "unused")
    assert "'email' (the email), closest match 'Email'" in str(error)
    assert emu.requests == []


def test_a_mapped_optional_column_the_frame_lacks_is_an_error_unless_relaxed(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """Before: every profile was exported with First name blank, without a word."""
    df = frame().rename(columns={"first": "FirstName"})
    with pytest.raises(MissingColumnError, match=r"'first' \(first_name\), closest match 'FirstN"):
        Exporter(destination, client=client, options=fast()).run(df)
    assert emu.requests == []
    relaxed = fast(allow_missing_columns=True)
    report = Exporter(destination, client=client, options=relaxed).run(df)
    assert report.exported == 4


def test_a_column_absent_from_the_first_batch_of_a_stream_is_an_error(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    rows = ({"email": f"u{i}@example.com", "FirstName": "A"} for i in range(1000))
    with pytest.raises(MissingColumnError) as caught:
        Exporter(destination, client=client, options=fast()).run(rows)
    assert set(caught.value.missing) == {"first", "last", "phone", "tier"}
    assert "missing from the first 500 profiles" in str(caught.value)
    assert "'tier' (custom field 'TIER')" in str(caught.value)
    assert "allow_missing_columns=True" in str(caught.value)
    assert emu.requests == []


def test_a_column_present_in_some_profiles_of_the_first_batch_is_fine(
    destination: ExportDestination, client: Client
) -> None:
    """Sparse data is fine as long as the column shows up; the peeked rows are all exported."""
    rows: list[dict[str, Any]] = [{"email": f"u{i}@example.com"} for i in range(600)]
    rows[499].update(first="F", last="L", phone="+34600000000", tier="gold")
    report = Exporter(destination, client=client, options=fast()).run(iter(rows))
    assert (report.input_count, report.exported) == (600, 600)


@pytest.mark.anyio
async def test_an_async_stream_is_checked_before_any_request(
    emu: ActiveCampaignEmulator, destination: ExportDestination, aclient: AsyncClient
) -> None:
    async def rows() -> AsyncIterator[dict[str, Any]]:
        for i in range(10):
            yield {"Email": f"u{i}@example.com"}

    with pytest.raises(MissingColumnError, match="'email' \\(the email\\), closest match 'Email'"):
        await AsyncExporter(destination, client=aclient, options=fast()).run(rows())
    assert emu.requests == []
    relaxed = ExportOptions(first_poll_delay=0.001, poll_interval=0.0005)
    mapping = FieldMapping(email="Email")
    report = await AsyncExporter(
        ExportDestination(destination.connection, "Emails", 1, mapping),
        client=aclient,
        options=relaxed,
    ).run(rows())
    assert (report.input_count, report.exported) == (10, 10)


def test_the_frame_index_is_named_when_the_email_is_in_it(
    destination: ExportDestination, client: Client
) -> None:
    df = frame().set_index("email")
    with pytest.raises(MissingColumnError, match=r"the frame's index: pass df.reset_index\(\)"):
        Exporter(destination, client=client, options=fast()).run(df)


def _excel_csv(n: int) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["email", "first", "last", "phone", "tier"])
    writer.writeheader()
    for i in range(n):
        writer.writerow(
            {"email": f"u{i}@example.com", "first": "F", "last": "L", "phone": "", "tier": ""}
        )
    return "\ufeff" + buffer.getvalue()  # what Excel's "CSV UTF-8" writes


def test_a_byte_order_mark_in_a_csv_header_is_dropped(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """Before: the first column read as '\\ufeffemail' and every row was rejected."""
    rows = csv.DictReader(io.StringIO(_excel_csv(300)))
    report = Exporter(destination, client=client, options=fast()).run(rows)
    assert (report.input_count, report.exported) == (300, 300)
    df = pd.read_csv(io.StringIO(_excel_csv(3)), encoding="utf-8", dtype=str)
    assert Exporter(destination, client=client, options=fast()).run(df).exported == 3


def test_a_users_own_mapper_is_not_checked(destination: ExportDestination, client: Client) -> None:
    class Mapper:
        def map(self, profile: Any) -> Any:
            from ac_segment_export import MappedProfile

            return MappedProfile(email=profile["mail"])

    rows = [{"mail": f"u{i}@example.com"} for i in range(3)]
    report = Exporter(destination, client=client, mapper=Mapper(), options=fast()).run(rows)
    assert report.exported == 3


def test_allow_missing_columns_round_trips() -> None:
    options = ExportOptions(allow_missing_columns=True)
    assert ExportOptions.from_dict(options.to_dict()) == options
    assert options.to_dict()["allow_missing_columns"] is True
    with pytest.raises(ConfigurationError, match="allow_missing_columns must be True or False"):
        ExportOptions(allow_missing_columns="yes")  # type: ignore[arg-type]


def test_a_duckdb_relation_is_read_without_pyarrow_too(
    emu: ActiveCampaignEmulator,
    destination: ExportDestination,
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With pyarrow, DuckDB hands over Arrow batches; without it, its own row batches."""
    relation = _duckdb(frame())
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # not importable
    assert _sources._arrow_reader_of(relation) is None
    report = Exporter(destination, client=client, options=fast()).run(relation)
    assert (report.input_count, report.exported) == (6, 4)
    one = emu.contact_by_email("user1@example.com")
    assert one is not None
    assert emu.field_values(one.id) == {1: "gold"}
