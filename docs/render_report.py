"""Render an export report's notebook view in headless Chromium: the screenshot in docs/.

``python docs/render_report.py`` runs two small exports against the in-process emulator (a
run with profiles rejected for several reasons and duplicates, and a dry run stopped by
``max_profiles``), puts their ``_repr_html_()`` in a page, the first in a light and the
second in a dark notebook theme, and saves the screenshot as ``docs/report.png``. It needs
Debian's ``chromium`` package (``apt-get install chromium``).

The test suite (``tests/export/test_report_browser.py``) uses this module's helpers to
render reports and check what the browser shows.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    import ac_segment_export as acx

#: How to get the browser, for every message that says it is missing.
INSTALL_HINT = (
    "the report's browser tests and screenshot need headless Chromium: install Debian's "
    "package with `apt-get install chromium` (it provides /usr/bin/chromium), or set "
    "ACX_CHROMIUM to a Chromium executable"
)

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--mute-audio",
)

# The harness measures what the browser rendered and writes it, as JSON, into #acx-result
# (this script is the test page's, not the report's: the report holds no JavaScript).
_PROBE = """
<pre id="acx-result"></pre>
<script>
(function () {
  function rgba(text) {
    var m = text.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return [0, 0, 0, 0];
    var p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  }
  function over(top, bottom) {
    var a = top[3];
    return [0, 1, 2].map(function (i) { return top[i] * a + bottom[i] * (1 - a); });
  }
  function background(el) {
    var layers = [];
    for (var e = el; e; e = e.parentElement) {
      var c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
    }
    var rgb = [255, 255, 255];
    for (var i = layers.length - 1; i >= 0; i--) rgb = over(layers[i], rgb);
    return rgb;
  }
  function luminance(rgb) {
    var c = rgb.map(function (v) {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function contrast(el) {
    var style = getComputedStyle(el);
    var bg = background(el);
    var fg = rgba(style.color);
    var opacity = 1;
    for (var e = el; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
    fg = over([fg[0], fg[1], fg[2], fg[3] * opacity], bg);
    var a = luminance(fg), b = luminance(bg);
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  }
  var reports = Array.prototype.slice.call(document.querySelectorAll(".acx-report"));
  var out = reports.map(function (report) {
    var worst = null;
    var walker = document.createTreeWalker(report, NodeFilter.SHOW_TEXT);
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim()) continue;
      var el = node.parentElement;
      var ratio = contrast(el);
      if (worst === null || ratio < worst.ratio) {
        worst = {ratio: ratio, text: node.textContent.trim().slice(0, 60)};
      }
    }
    var bar = report.querySelector(".acx-bar");
    return {
      text: report.innerText,
      worst_contrast: worst,
      width: report.getBoundingClientRect().width,
      overflows: report.scrollWidth > report.clientWidth + 1,
      bar_width: bar ? bar.getBoundingClientRect().width : null,
      segments: Array.prototype.map.call(report.querySelectorAll(".acx-seg"), function (s) {
        return {status: s.dataset.status, count: Number(s.dataset.count),
                width: s.getBoundingClientRect().width, title: s.title,
                background: getComputedStyle(s).backgroundImage !== "none"
                  ? "striped" : getComputedStyle(s).backgroundColor};
      }),
      reasons: Array.prototype.map.call(report.querySelectorAll("tr.acx-reason"), function (r) {
        return r.innerText;
      }),
      samples: report.querySelectorAll("tr.acx-sample").length,
      active: report.querySelectorAll("script,img,iframe,object,embed,svg script").length,
      handlers: Array.prototype.filter.call(report.querySelectorAll("*"), function (e) {
        return Array.prototype.some.call(e.attributes, function (a) {
          return a.name.indexOf("on") === 0;
        });
      }).length,
      dark: matchMedia("(prefers-color-scheme: dark)").matches
    };
  });
  document.getElementById("acx-result").textContent = JSON.stringify(out);
})();
</script>
"""


def find_chromium() -> str | None:
    """The Chromium executable: ``$ACX_CHROMIUM``, else ``chromium`` on the PATH."""
    configured = os.environ.get("ACX_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(args: list[str], *, timeout: float = 90.0) -> str:
    """Run headless Chromium with *args* (no network, a throw-away profile); its stdout.

    Raises:
        FileNotFoundError: Chromium is not installed; the message says how to install it.
        RuntimeError: Chromium failed; the message holds its error output.
    """
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="acx-chromium-") as profile:
        done = subprocess.run(  # noqa: S603 - a fixed executable and flags
            [exe, *_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if done.returncode != 0:
        msg = f"chromium exited with {done.returncode}: {done.stderr[-2000:]}"
        raise RuntimeError(msg)
    return done.stdout


#: The screenshot's size in CSS pixels (the two panels fill it).
WIDTH, HEIGHT = 1000, 1250


def page(fragments: list[tuple[str, str]], *, probe: bool = True) -> str:
    """A page holding report fragments, each in a panel: ``(theme, html)`` pairs.

    *theme* is ``"light"`` or ``"dark"`` (a JupyterLab panel in that theme, its own
    background and text colours) or ``"system"`` (a panel that follows the browser's
    ``prefers-color-scheme``, as JupyterLab does when it syncs with the system).
    """
    panels = []
    for theme, fragment in fragments:
        if theme == "system":
            attrs = "class='panel system'"
        else:
            light = "true" if theme == "light" else "false"
            attrs = f"class='panel {theme}' data-jp-theme-light='{light}'"
        panels.append(f"<div {attrs}>{fragment}</div>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='color-scheme' content='light dark'><style>"
        "body{margin:0;background:#fff}"
        ".panel{padding:14px 18px}"
        ".light{background:#ffffff;color:rgba(0,0,0,.87)}"
        ".dark{background:#111111;color:rgba(255,255,255,.87)}"
        ".system{background:Canvas;color:CanvasText}"
        "@media (prefers-color-scheme: dark){.system{background:#111111;"
        "color:rgba(255,255,255,.87)}}"
        "</style></head><body>" + "".join(panels) + (_PROBE if probe else "") + "</body></html>"
    )


def rendered(document: str, *, dark: bool = False, width: int = 1000) -> list[dict[str, object]]:
    """Load *document* (from :func:`page`) in Chromium; what its probe measured per report."""
    with tempfile.TemporaryDirectory(prefix="acx-page-") as tmp:
        path = Path(tmp) / "page.html"
        path.write_text(document, encoding="utf-8")
        args = [f"--window-size={width},900", "--dump-dom", path.as_uri()]
        if dark:
            args.insert(0, "--force-dark-mode")
        dom = chromium(args)
    match = re.search(r'<pre id="acx-result">(.*?)</pre>', dom, re.DOTALL)
    if match is None or not match.group(1):
        msg = f"the page's probe wrote nothing; the DOM began: {dom[:500]!r}"
        raise RuntimeError(msg)
    found: list[dict[str, object]] = json.loads(html.unescape(match.group(1)))
    return found


def screenshot(document: str, out: Path, *, width: int, height: int) -> Path:
    """Save a PNG screenshot of *document* at ``width`` x ``height`` CSS pixels."""
    with tempfile.TemporaryDirectory(prefix="acx-page-") as tmp:
        path = Path(tmp) / "page.html"
        path.write_text(document, encoding="utf-8")
        chromium(
            [
                f"--window-size={width},{height}",
                "--force-device-scale-factor=1",
                f"--screenshot={out.resolve()}",
                path.as_uri(),
            ]
        )
    return out


def demo_reports() -> tuple[acx.ExportReport, acx.ExportReport]:
    """Two real exports into the in-process emulator: a run, and a dry run that stopped.

    The run has profiles rejected for two reasons and duplicates; the dry run is stopped by
    ``max_profiles``. Both run as an admin actor, who becomes the report's export user.
    """
    import ac_segment_export as acx  # noqa: PLC0415
    from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits  # noqa: PLC0415

    # 50x faster than real time (the reports say so), the poll delays scaled alike.
    emu = ActiveCampaignEmulator(
        api_key="demo-key", limits=EmulatorLimits.unlimited(), time_scale=50
    )
    list_id = emu.add_list("VIP customers")
    emu.add_field("Birthday", type="date", perstag="BIRTHDAY")
    conn = acx.Connection(
        display_name="Marketing AC", host="acme.api-us1.com", api_key="demo-key"
    ).accept_data_privacy_terms(accepted_by="ana@contoso.com")
    dest = acx.ExportDestination(
        conn,
        "VIP customers (weekly)",
        list_id,
        acx.FieldMapping(email="email", first_name="first", fields={"BIRTHDAY": "birthday"}),
    )

    def profiles(n: int, *, bad_values: bool = True) -> Iterator[dict[str, object]]:
        for i in range(n):
            row: dict[str, object] = {"email": f"customer{i}@example.org", "first": f"C{i}"}
            if i % 40 == 7:
                row["email"] = f"customer{i}.example.org"  # no @: rejected
            elif i % 97 == 3 and bad_values:
                row["birthday"] = "next tuesday"  # not a date: rejected, the email kept
            elif i % 150 == 11:
                row["email"] = f"customer{i - 1}@example.org"  # a duplicate
            else:
                row["birthday"] = f"19{60 + i % 40}-0{1 + i % 9}-1{i % 10}"
            yield row

    client = acx.Client(
        "acme.api-us1.com",
        "demo-key",
        transport=emu.transport(),
        rate_limits=acx.RateLimits.unlimited(),
    )
    options = acx.ExportOptions(first_poll_delay=1 / 50, poll_interval=2 / 50)
    actor = acx.Actor.admin("ana@contoso.com")
    with client:
        run = acx.Exporter(dest, client=client, actor=actor, options=options)
        report = run.run(list(profiles(2400)))
        dry = acx.Exporter(
            dest,
            client=client,
            actor=actor,
            options=options.replace(dry_run=True, max_profiles=1000),
        )
        return report, dry.run(profiles(1500, bad_values=False))


def main(argv: list[str] | None = None) -> int:
    """Write the screenshot (``docs/report.png`` by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("report.png"))
    args = parser.parse_args(argv)
    try:
        find = find_chromium()
        if find is None:
            raise FileNotFoundError(INSTALL_HINT)  # before the exports, not after
        report, dry = demo_reports()
        document = page([("light", report._repr_html_()), ("dark", dry._repr_html_())], probe=False)
        screenshot(document, args.out, width=WIDTH, height=HEIGHT)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
