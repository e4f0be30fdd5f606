"""The report's notebook view, rendered by a real headless Chromium and measured there.

The page puts ``report._repr_html_()`` in notebook-like panels (JupyterLab's light and dark
themes, and one that follows the browser's ``prefers-color-scheme``); a probe script of the
*page* (the report has none) measures what Chromium rendered: the visible text, the
contrast of every piece of text against what is behind it, the widths of the count bar's
segments, overflow, and any active content. The helpers are ``docs/render_report.py``'s,
the script that makes the screenshot in docs/, so that script is exercised here too.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it). Without it these tests
fail, saying how to install it; they never skip.
"""

from __future__ import annotations

import importlib.util
import struct
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import ac_segment_export as acx

from .conftest import fast, profile

if TYPE_CHECKING:
    from types import ModuleType

    from ac_segment_export.testing import ActiveCampaignEmulator

DOCS = Path(__file__).resolve().parents[2] / "docs"
#: WCAG's minimum contrast for body text (AA).
MIN_CONTRAST = 4.5


def _load_renderer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_report", DOCS / "render_report.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("render_report", module)
    spec.loader.exec_module(module)
    return module


render = _load_renderer()


@pytest.fixture(scope="module", autouse=True)
def chromium() -> str:
    """The browser; its absence fails every test here with the way to install it."""
    exe = render.find_chromium()
    if exe is None:
        pytest.fail(render.INSTALL_HINT, pytrace=False)
    return str(exe)


@pytest.fixture
def run_report(
    emu: ActiveCampaignEmulator, destination: acx.ExportDestination, client: acx.Client
) -> acx.ExportReport:
    """A real run: 200 exported, 45 rejected (for two reasons), 10 duplicates."""
    rows: list[dict[str, Any]] = [profile(i) for i in range(200)]
    rows += [{"email": f"broken{i}.example.com"} for i in range(40)]
    rows += [profile(i, phone={"not": "a phone"}) for i in range(200, 205)]
    rows += [profile(i) for i in range(10)]
    exporter = acx.Exporter(
        destination, client=client, actor=acx.Actor.admin("ana@contoso.com"), options=fast()
    )
    return exporter.run(rows)


@pytest.fixture
def dry_report(destination: acx.ExportDestination, client: acx.Client) -> acx.ExportReport:
    """A dry run stopped by ``max_profiles``."""

    def rows() -> Any:
        for i in range(80):
            yield profile(i) if i % 9 else {"email": f"x{i}"}

    exporter = acx.Exporter(destination, client=client, options=fast(dry_run=True, max_profiles=50))
    return exporter.run(rows())


def measured(fragment: str, *, dark: bool = False, width: int = 1000) -> list[dict[str, Any]]:
    document = render.page([("light", fragment), ("dark", fragment), ("system", fragment)])
    found: list[dict[str, Any]] = render.rendered(document, dark=dark, width=width)
    assert len(found) == 3
    return found


def test_the_report_reads_in_light_and_dark_themes(run_report: acx.ExportReport) -> None:
    """Every piece of text has at least 4.5:1 contrast, in every theme, light OS or dark."""
    fragment = run_report._repr_html_()
    for dark in (False, True):
        panels = measured(fragment, dark=dark)
        assert all(panel["dark"] is dark for panel in panels)
        for theme, panel in zip(("light", "dark", "system"), panels, strict=True):
            worst = panel["worst_contrast"]
            assert worst["ratio"] >= MIN_CONTRAST, (theme, dark, worst)
            assert not panel["overflows"], (theme, dark)


def test_what_the_browser_shows(run_report: acx.ExportReport) -> None:
    """The facts of the run, the counts and one line a reason with its count and samples."""
    light, _, _ = measured(run_report._repr_html_())
    text = light["text"]
    assert "VIP export → list 1 (VIP customers)" in text
    for fact in ("mode", "export user", "started", "duration", "throughput", "requests"):
        assert fact in text
    assert "exporter@example.com" in text  # the connection's export user wins over the actor
    assert "exported/s in real time" in text
    assert "1000x faster than real time" in text  # the test emulator's scale
    assert "exported 200" in text
    assert "rejected 45" in text
    assert "duplicate 10" in text
    assert "Not exported, by reason" in text
    reasons = light["reasons"]
    assert len(reasons) == 3
    assert reasons[0].split("\t") == [
        "rejected",
        "email '…' is not a valid address (it must contain exactly one @)",
        "40",
    ]
    assert reasons[1].split("\t") == ["duplicate", "an earlier profile has the same email", "10"]
    assert reasons[2].split("\t")[0::2] == ["rejected", "5"]
    assert light["samples"] == 3 * 3
    assert "#200" in text  # a sample's position (from 0), its email, field and reason
    assert "user200@example.com · phone" in text
    assert "input 255 = exported 200 + rejected 45 + duplicate 10" in text


def test_the_count_bar_is_proportional(run_report: acx.ExportReport) -> None:
    light, _, _ = measured(run_report._repr_html_())
    segments = {s["status"]: s for s in light["segments"]}
    assert set(segments) == {"exported", "rejected", "duplicate"}
    total = sum(s["count"] for s in segments.values())
    bar = light["bar_width"]
    assert sum(s["width"] for s in segments.values()) == pytest.approx(bar, abs=1)
    for segment in segments.values():
        assert segment["width"] == pytest.approx(bar * segment["count"] / total, abs=4)
        assert segment["background"] != "rgba(0, 0, 0, 0)"
    assert segments["exported"]["title"] == "exported: 200 (78.4%)"


def test_a_dry_run_reads_as_one_in_the_browser(dry_report: acx.ExportReport) -> None:
    light, dark, _ = measured(dry_report._repr_html_())
    for panel in (light, dark):
        text = panel["text"]
        assert "DRY RUN: nothing written" in text
        assert "would export 44" in text
        assert "exported 44" not in text
        assert "upsert (dry run: nothing was written)" in text
        assert "stopped early" in text
        assert "max_profiles (50) reached" in text
        assert "profiles checked/s in real time" in text
        assert "input 51 = would_export 44 + rejected 6" in text
        segment = next(s for s in panel["segments"] if s["status"] == "exported")
        assert segment["background"] == "striped"  # a hatched bar: nothing was written
        assert segment["title"].startswith("would export: 44")


def test_hostile_values_stay_text(emu: ActiveCampaignEmulator, client: acx.Client) -> None:
    """Markup in any value renders as text: no element, no handler, nothing runs."""
    evil = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    conn = acx.Connection(f"AC{evil}", "acme.api-us1.com", "test-key").accept_data_privacy_terms(
        "admin@example.com"
    )
    dest = acx.ExportDestination(conn, f"VIP{evil}", 1, acx.FieldMapping(email="email"))
    exporter = acx.Exporter(
        dest, client=client, actor=acx.Actor.admin(f"ana{evil}"), options=fast()
    )
    report = exporter.run([profile(0), {"email": f"bad{evil}"}])
    light, _, _ = measured(report._repr_html_())
    assert light["active"] == 0
    assert light["handlers"] == 0
    assert f"VIP{evil} → list 1" in light["text"]
    assert f"ana{evil}" in light["text"]


def test_a_narrow_output_area_wraps_instead_of_overflowing(run_report: acx.ExportReport) -> None:
    for panel in measured(run_report._repr_html_(), width=640):
        assert not panel["overflows"]
        assert panel["width"] <= 640


def test_the_docs_screenshot_script_writes_a_small_png(tmp_path: Path) -> None:
    """``python docs/render_report.py`` makes the PNG that docs/ shows."""
    out = tmp_path / "report.png"
    assert render.main(["--out", str(out)]) == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (render.WIDTH, render.HEIGHT)
    assert len(data) < 300_000
    committed = DOCS / "report.png"
    assert committed.exists(), "docs/report.png is made by python docs/render_report.py"
    assert struct.unpack(">II", committed.read_bytes()[16:24]) == (width, height)
