"""pandas' and numpy's values mean what they mean: NaN, NaT and pd.NA are absent, not text."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest

import ac_segment_export as acx
from ac_segment_export._model._values import plain

from .test_mapping import ACCOUNT, FV, mapped, rejected, resolved


@pytest.mark.parametrize(
    "missing",
    [None, float("nan"), np.nan, np.float32("nan"), pd.NaT, pd.NA, np.datetime64("NaT")],
    ids=["None", "nan", "np.nan", "float32-nan", "NaT", "NA", "datetime64-NaT"],
)
def test_missing_values_are_none(missing: object) -> None:
    assert plain(missing) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.int64(7), 7),
        (np.int8(-3), -3),
        (np.float64(2.5), 2.5),
        (np.bool_(True), True),
        (np.str_("gold"), "gold"),
        (pd.Timestamp("2024-05-01 09:30:00"), dt.datetime(2024, 5, 1, 9, 30)),
        (pd.Timestamp("2024-05-01 09:30:00.000000123"), dt.datetime(2024, 5, 1, 9, 30)),
        (np.datetime64("2024-05-01"), dt.date(2024, 5, 1)),
        (np.datetime64("2024-05-01T09:30:00.123456789"), dt.datetime(2024, 5, 1, 9, 30, 0, 123456)),
        (np.array([np.int64(1), np.int64(2)]), [1, 2]),
        ("text", "text"),
        (3, 3),
    ],
)
def test_numpy_and_pandas_scalars_are_plain_python(value: object, expected: object) -> None:
    got = plain(value)
    assert got == expected
    assert type(got) is type(expected)


def test_a_timezone_aware_timestamp_keeps_its_zone() -> None:
    got = plain(pd.Timestamp("2024-05-01 09:30", tz="UTC"))
    assert isinstance(got, dt.datetime)
    assert got.utcoffset() == dt.timedelta(0)


RECORDS = pd.DataFrame(
    {
        "Email": ["ana@example.org", np.nan, "bo@example.org"],
        "First": ["Ana", None, np.nan],
        "DOB": [pd.Timestamp("1990-05-01"), pd.NaT, pd.NaT],
        "Points": [np.int64(3), np.nan, np.float64(4.5)],
        "Tier": pd.array(["Gold", pd.NA, "Silver"], dtype="string"),
    }
).to_dict("records")


def test_to_dict_records_values_are_sent_as_what_they_mean() -> None:
    """Before: 'NaT' was sent as text, a NaN points value rejected the profile."""
    mapper = resolved(
        first_name="First", fields={"BIRTHDAY": "DOB", "POINTS": "Points", "LOYALTY_TIER": "Tier"}
    )
    ana = mapped(mapper, RECORDS[0])
    assert ana.first_name == "Ana"
    assert ana.fields == (FV(2, "1990-05-01"), FV(6, "3"), FV(1, "Gold"))
    bo = mapped(mapper, RECORDS[2])
    assert bo.first_name is None  # NaN: absent, not "nan"
    assert bo.fields == (FV(6, "4.5"), FV(1, "Silver"))  # NaT: not sent


def test_a_missing_email_is_a_rejection_saying_it_is_missing() -> None:
    """Before: ``email 'nan' is not a valid address``."""
    result = rejected(resolved(), RECORDS[1])
    assert result.field == "email"
    assert "missing" in result.reason
    assert "nan" not in result.reason


def test_nan_in_a_flag_column_is_no_flag_and_numpy_values_tag() -> None:
    mapper = acx.FieldMapping(
        email="Email",
        tags=[acx.FlagTag("Vip", "VIP"), acx.ValueTag("Segment", prefix="seg:")],
    ).resolve(ACCOUNT)
    row: dict[str, Any] = {"Email": "a@example.org", "Vip": np.nan, "Segment": np.int64(4)}
    assert mapped(mapper, row).tags == ("seg:4",)
    row = {"Email": "a@example.org", "Vip": np.bool_(True), "Segment": [np.nan, "b"]}
    assert mapped(mapper, row).tags == ("VIP", "seg:b")


def test_pandas_and_numpy_are_not_imported_by_the_package() -> None:
    """They are optional: a value is recognised by its type's module, not by importing them."""
    code = (
        "import sys, ac_segment_export, ac_segment_export.testing;"
        "print(sorted(m for m in ('pandas', 'numpy', 'polars', 'pyarrow', 'duckdb')"
        " if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
