"""``ExportOptions``: one frozen, checked value, round-tripping through the converter."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ac_segment_export import ConfigurationError, Exporter, ExportOptions, RecordOutcome
from ac_segment_export._core import convert

seconds = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
options = st.builds(
    ExportOptions,
    dry_run=st.booleans(),
    keep=st.sampled_from(["first", "last"]),
    max_profiles=st.integers(min_value=1, max_value=10**9),
    check_unsubscribed=st.booleans(),
    default_country_code=st.none() | st.sampled_from(["44", "+39", "GB", "it"]),
    batch_size=st.integers(min_value=2, max_value=250),
    max_in_flight=st.integers(min_value=1, max_value=1000),
    first_poll_delay=seconds,
    poll_interval=seconds,
    max_batch_resubmits=st.integers(min_value=0, max_value=10),
    max_batch_wait=seconds.filter(lambda s: s > 0),
    cancel_grace=seconds,
    max_unsubscribe_fraction=st.floats(min_value=0, max_value=1),
    allow_empty=st.booleans(),
)


@given(options)
def test_options_round_trip_through_the_converter_and_json(value: ExportOptions) -> None:
    stored = json.loads(json.dumps(value.to_dict()))
    assert ExportOptions.from_dict(stored) == value
    assert convert.converter.structure(convert.converter.unstructure(value), ExportOptions) == (
        value
    )


def test_every_option_has_its_default_once() -> None:
    defaults = {a.name: a.default for a in attrs.fields(ExportOptions)}
    assert ExportOptions().to_dict() == defaults
    assert defaults["batch_size"] == 250
    assert defaults["max_unsubscribe_fraction"] == 0.5


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"dry_run": "no"}, "dry_run must be True or False"),  # never coerced to True
        ({"max_in_flight": "4"}, "max_in_flight must be an integer"),
        ({"batch_sise": 5}, "Unknown export options: batch_sise"),
        ({"keep": "middle"}, "keep must be 'first' or 'last'"),
        ([1, 2], "must be a mapping"),
    ],
)
def test_stored_options_are_read_strictly(data: Any, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        ExportOptions.from_dict(data)


def test_options_are_frozen_and_keyword_only() -> None:
    value = ExportOptions()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        value.dry_run = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        ExportOptions(True)  # type: ignore[misc]
    assert value.replace(dry_run=True).dry_run is True
    with pytest.raises(ConfigurationError):
        value.replace(poll_interval=-1)


def test_the_exporter_takes_options_and_nothing_else(destination: Any) -> None:
    with pytest.raises(TypeError):
        Exporter(destination, batch_sise=5)  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match="options must be an ExportOptions"):
        Exporter(destination, options={"dry_run": True})  # type: ignore[arg-type]


def test_outcomes_round_trip_through_the_converter() -> None:
    from ac_segment_export import OutcomeStatus

    outcome = RecordOutcome(3, "a@x.io", OutcomeStatus.REJECTED, "bad", "email")
    assert outcome.to_dict() == {
        "position": 3,
        "email": "a@x.io",
        "status": "rejected",
        "reason": "bad",
        "field": "email",
    }
    assert RecordOutcome.from_dict(outcome.to_dict()) == outcome
