"""The probe, run against the emulator in each of its readings (loopback and transport)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits, Readings
from ac_segment_export.testing._probe import ProbeError, ProbeReport, api_base_url, main, run_probe

if TYPE_CHECKING:
    from pathlib import Path

KEY = "probe-test-key-0123456789abcdef"
SCALE = 20.0
FAST = {"pace": 0.0005, "poll_interval": 0.0005, "batch_timeout": 10.0}
PACED = {"pace": 0.25 / SCALE, "poll_interval": 0.25 / SCALE, "batch_timeout": 10.0}


def fast_emulator(readings: Readings = Readings()) -> ActiveCampaignEmulator:  # noqa: B008
    """Unlimited rate, time x10: every lifecycle phase lasts many polls."""
    return ActiveCampaignEmulator(
        KEY, readings=readings, limits=EmulatorLimits.unlimited(), time_scale=10
    )


def seeded(emu: ActiveCampaignEmulator) -> ActiveCampaignEmulator:
    """Give the account data the probe must leave alone."""
    keep = emu.add_list("Keep me")
    emu.add_field("Keep me too")
    emu.add_contact("customer@example.org", lists={keep: 1})
    return emu


def assert_clean(emu: ActiveCampaignEmulator, report: ProbeReport) -> None:
    assert report.left_behind == ()
    emu.settle()  # a batch still pending would create contacts now
    assert [x.name for x in emu.lists] == ["Keep me"]
    assert [f.title for f in emu.fields] == ["Keep me too"]
    assert [c.email for c in emu.contacts] == ["customer@example.org"]
    assert any(r.startswith("list ") for r in report.removed)
    assert any(r.startswith("field ") for r in report.removed)


def verdicts(report: ProbeReport) -> dict[str, tuple[str, str]]:
    return {v.behaviour: (v.verdict, v.matching_reading) for v in report.verdicts}


DEFAULT_VERDICTS = {
    "fields_create_shape": ("confirmed", "Readings()"),
    "unknown_batch_id": ("confirmed", "Readings()"),
    "failure_index_base": ("confirmed", "Readings()"),
    "bulk_success_key": ("confirmed", "Readings()"),
    "bulk_success_status": ("confirmed", "Readings()"),
    "status_false_after_submit": ("confirmed", "Readings()"),
    "batch_statuses": ("confirmed", "Readings()"),
    "unsubscribed_in_failure": ("confirmed", "Readings()"),
    "bulk_never_resubscribes": ("confirmed", "Readings()"),
}


def test_default_readings_are_confirmed_over_the_socket() -> None:
    emu = seeded(fast_emulator())
    with emu.serve() as base_url:
        report = run_probe(base_url, KEY, email_domain="example.net", **FAST)  # type: ignore[arg-type]
    assert verdicts(report) == DEFAULT_VERDICTS
    assert report.errors == ()
    assert_clean(emu, report)


def test_alternative_readings_are_contradicted_and_named_over_the_socket() -> None:
    emu = seeded(fast_emulator(Readings.alternative(extra_batch_status="queued")))
    with emu.serve() as base_url:
        report = run_probe(base_url, KEY, email_domain="example.net", **FAST)  # type: ignore[arg-type]
    assert verdicts(report) == {
        **DEFAULT_VERDICTS,
        "fields_create_shape": ("contradicted", 'Readings(fields_create_shape="fields")'),
        "failure_index_base": ("contradicted", "Readings(failure_index_base=1)"),
        "batch_statuses": ("contradicted", "Readings(extra_batch_status='queued')"),
        "unsubscribed_in_failure": ("contradicted", "Readings(unsubscribed_in_failure=True)"),
    }
    assert "@<domain>" in report.verdict("unsubscribed_in_failure").observed
    assert_clean(emu, report)


@pytest.mark.parametrize("alternative", [False, True])
def test_rate_limits_each_reading(alternative: bool) -> None:
    readings = Readings(throttle_status=503) if alternative else Readings()
    limits = EmulatorLimits(bulk_rate_limit_status=429) if alternative else EmulatorLimits()
    emu = seeded(ActiveCampaignEmulator(KEY, readings=readings, limits=limits, time_scale=SCALE))
    with emu.serve() as base_url:
        report = run_probe(
            base_url,
            KEY,
            email_domain="example.net",
            include_rate_limit=True,
            **PACED,  # type: ignore[arg-type]
        )
    found = verdicts(report)
    if alternative:
        assert found["throttle_status"] == ("contradicted", "Readings(throttle_status=503)")
        assert found["bulk_rate_limit"] == (
            "contradicted",
            "EmulatorLimits(bulk_rate_limit_status=429)",
        )
    else:
        assert found["throttle_status"] == ("confirmed", "Readings()")
        assert found["bulk_rate_limit"] == ("confirmed", "EmulatorLimits()")
    assert found["throttle_retry_after"][0] == "confirmed"
    # Paced below 5 a second, nothing else was ever throttled.
    assert {k: found[k] for k in DEFAULT_VERDICTS if k != "batch_statuses"} == {
        k: v for k, v in DEFAULT_VERDICTS.items() if k != "batch_statuses"
    }
    assert_clean(emu, report)


def test_rate_limit_is_only_probed_when_asked() -> None:
    emu = fast_emulator()
    with make_transport_probe(emu) as report:
        assert "throttle_status" not in verdicts(report)
        assert "bulk_rate_limit" not in verdicts(report)
    assert not any(
        r.path == "/import/bulk_import"
        and r.status == 400
        and r.json
        and len(r.json["contacts"]) == 1
        for r in emu.requests
    )


class make_transport_probe:
    """Run the probe through the in-process transport (the injection point)."""

    def __init__(self, emu: ActiveCampaignEmulator) -> None:
        self.emu = emu

    def __enter__(self) -> ProbeReport:
        return run_probe(
            "https://acme.api-us1.com",
            KEY,
            email_domain="example.net",
            transport=self.emu.transport(),
            **FAST,  # type: ignore[arg-type]
        )

    def __exit__(self, *_: object) -> None:
        return None


def test_a_failing_step_is_could_not_tell_and_everything_is_still_removed() -> None:
    emu = seeded(fast_emulator())
    emu.queue_fault("drop", path="/contactLists")  # the unsubscribed contact's setup fails
    with make_transport_probe(emu) as report:
        pass
    found = verdicts(report)
    for key in ("bulk_success_key", "batch_statuses", "unsubscribed_in_failure"):
        assert found[key] == ("could not tell", "-")
    assert found["failure_index_base"] == ("confirmed", "Readings()")
    assert len(report.errors) == 1
    assert "RemoteProtocolError" in report.errors[0]
    assert_clean(emu, report)  # the contact made before the failure is gone too


def test_cleanup_waits_for_a_pending_batch() -> None:
    emu = seeded(fast_emulator())
    # The unknown-batchId question takes the first 500, the first poll the second.
    emu.queue_fault("500", path="/import/info", count=2)
    with make_transport_probe(emu) as report:
        pass
    assert verdicts(report)["unknown_batch_id"][0] == "contradicted"
    (error,) = report.errors
    assert "bulk import lifecycle" in error
    assert "500" in error
    assert_clean(emu, report)


def test_refused_key_creates_nothing() -> None:
    emu = seeded(fast_emulator())
    with pytest.raises(ProbeError, match="403"):
        run_probe(
            "https://acme.api-us1.com",
            "wrong-key-wrong-key",
            email_domain="example.net",
            transport=emu.transport(),
        )
    assert_clean_untouched(emu)


def assert_clean_untouched(emu: ActiveCampaignEmulator) -> None:
    assert [x.name for x in emu.lists] == ["Keep me"]
    assert [r.method for r in emu.requests] == ["GET"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("acme.api-us1.com", "https://acme.api-us1.com/api/3"),
        ("https://acme.api-us1.com/", "https://acme.api-us1.com/api/3"),
        ("https://acme.api-us1.com/api/3/", "https://acme.api-us1.com/api/3"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/3"),
    ],
)
def test_api_base_url(url: str, expected: str) -> None:
    assert api_base_url(url) == expected


@pytest.mark.parametrize("url", ["", "http://acme.api-us1.com", "ftp://x.org"])
def test_api_base_url_refuses(url: str) -> None:
    with pytest.raises(ProbeError):
        api_base_url(url)


def test_cli_needs_the_confirmation_and_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"AC_API_URL": "https://acme.api-us1.com", "AC_API_KEY": KEY}
    with pytest.raises(SystemExit) as exited:
        main(["--email-domain", "example.net"], environ=env)
    assert exited.value.code == 2
    assert "--yes-create-a-scratch-list" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--email-domain", "example.net", "--yes-create-a-scratch-list"], environ={})
    assert "AC_API_KEY" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--yes-create-a-scratch-list"], environ=env)  # --email-domain is required


def test_cli_prints_and_writes_json_without_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = seeded(fast_emulator(Readings(failure_index_base=1)))
    out = tmp_path / "probe.json"
    with emu.serve() as base_url:
        code = main(
            [
                "--url",
                base_url,
                "--email-domain",
                "example.net",
                "--yes-create-a-scratch-list",
                "--json",
                str(out),
            ],
            environ={"AC_API_KEY": KEY},
            pace=FAST["pace"],
            poll_interval=FAST["poll_interval"],
        )
    assert code == 0
    printed = capsys.readouterr().out
    written = out.read_text()
    assert KEY not in printed
    assert KEY not in written
    assert "example.net" not in written
    data = json.loads(written)
    (index,) = [v for v in data["verdicts"] if v["behaviour"] == "failure_index_base"]
    assert index["verdict"] == "contradicted"
    assert index["matching_reading"] == "Readings(failure_index_base=1)"
    assert data["cleanup"]["left_behind"] == []
    assert "Readings(failure_index_base=1)" in printed
    assert_clean(emu, ProbeReport((), ("list 2", "field 2"), (), (), ""))


def test_module_entry_point_keeps_serving_and_offers_probe() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ac_segment_export.testing", "probe", "--email-domain", "x.org"],
        capture_output=True,
        text=True,
        env={"PATH": "", "AC_API_KEY": KEY},
        check=False,
    )
    assert done.returncode == 2
    assert "--yes-create-a-scratch-list" in done.stderr
    helped = subprocess.run(
        [sys.executable, "-m", "ac_segment_export.testing", "serve", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert helped.returncode == 0
    assert "--port" in helped.stdout
