"""The progress bar and the log lines say what a person needs, in a readable form."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

import pandas as pd
import tqdm.auto
import tqdm.std

from ac_segment_export import Exporter
from ac_segment_export._export._exporter import _tqdm_class

from .conftest import fast, profile

if TYPE_CHECKING:
    import pytest

    from ac_segment_export import Client, ExportDestination


def test_the_bar_writes_counts_with_thousands_separators(
    destination: ExportDestination, client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: tqdm wrote the exported count its shortest way, ``exported=1e+4``."""
    rows = [profile(i) for i in range(10_000)]
    report = Exporter(destination, client=client, options=fast(), progress=True).run(rows)
    assert report.exported == 10_000
    err = capsys.readouterr().err
    assert "exported=10,000" in err
    assert "e+" not in err


def test_the_notebook_bar_is_used_only_where_it_can_draw(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without ipywidgets, tqdm.auto warns in a notebook; the plain bar is chosen instead."""
    assert _tqdm_class() is tqdm.auto.tqdm
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # not importable
    assert _tqdm_class() is tqdm.std.tqdm


def test_an_export_logs_its_start_and_end_at_info(
    destination: ExportDestination, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    df = pd.DataFrame([profile(i) for i in range(3)])
    with caplog.at_level(logging.INFO, logger="ac_segment_export"):
        Exporter(destination, client=client, options=fast(dry_run=True)).run(df)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert messages[0] == (
        "Export 'VIP export' started: list 1, mode upsert, dry run, "
        "source pandas DataFrame (3 profiles)"
    )
    assert messages[-1].startswith("Export 'VIP export' finished in ")
    assert messages[-1].endswith(
        ": " + "input 3 = would_export 3 + rejected 0 + duplicate 0 + "
        "skipped 0 + failed 0 + unknown 0 + not_attempted 0"
    )


def test_a_stream_of_unknown_size_says_so(
    destination: ExportDestination, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="ac_segment_export"):
        Exporter(destination, client=client, options=fast()).run(profile(i) for i in range(3))
    assert "source generator (size not known)" in caplog.records[0].getMessage()
