"""`vmstui report` as a supervisor runs it: a real process on a cache with known alarms
(tests/report_cache.py), its JSON for scripts, its text with charts, and its HTML page
opened in a real headless browser (Debian's chromium)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest

from vmstui.store import Store

from ..brokers import unavailable
from ..report_cache import HOSTILE, SINCE, UNTIL, fill
from .test_cli import vmstui

PERIOD = ["--since", SINCE.isoformat(), "--until", UNTIL.isoformat()]
BROWSER_S = 90


@pytest.fixture
async def cache(tmp_path: Path) -> AsyncIterator[Path]:
    path = tmp_path / "cache.db"
    async with await Store.open(path, purge_every=None) as store:
        await fill(store)
    yield path


async def test_json_for_scripts(cache: Path) -> None:
    code, out, err = await vmstui("report", "--cache", str(cache), *PERIOD, "--format", "json")
    assert code == 0, err
    report = orjson.loads(out)
    assert set(report) == {
        "since", "until", "alarms", "by_priority", "by_name", "timeline", "time_to_ack",
        "floods", "shelved", "handlers", "notes", "still_open", "outages", "alarm_list",
        "skipped_audit_rows",
    }  # fmt: skip
    assert (report["since"], report["until"]) == ("2026-03-14T06:00:00Z", "2026-03-14T18:00:00Z")
    assert report["alarms"] == len(report["alarm_list"]) == 14
    assert report["by_priority"] == [
        {"priority": 1, "alarms": 10},
        {"priority": 5, "alarms": 3},
        {"priority": 10, "alarms": 1},
    ]
    by_priority = {f["priority"]: f for f in report["time_to_ack"]["by_priority"]}
    assert (by_priority[1]["median_s"], by_priority[1]["p90_s"]) == (55, 90)
    assert (by_priority[5]["median_s"], by_priority[5]["p90_s"]) == (120, 600)
    assert by_priority[10]["median_s"] is None
    flood = report["floods"][0]
    assert flood == {
        "began": "2026-03-14T10:00:00Z",
        "ended": "2026-03-14T10:25:00Z",
        "peak_per_10_min": 42,
        "alarms": 60,
        "unhandled_at_start": 11,
    }
    assert report["shelved"][0]["why"] == "expired"
    assert [a["name"] for a in report["still_open"]] == [HOSTILE]
    assert report["outages"][0]["duration_s"] == 398
    assert report["skipped_audit_rows"] == 2
    assert all(isinstance(b["alarms"], int) for b in report["timeline"]["bins"])
    assert "2 audit row(s) left out" in err  # the one log line for the broken rows


async def test_text_has_its_charts_and_names(cache: Path) -> None:
    code, out, err = await vmstui("report", "--cache", str(cache), *PERIOD)
    assert code == 0, err
    assert "Alarms by priority" in out and "Time to acknowledge by priority" in out
    assert "█" in out and "┌" in out  # plotext drew the charts
    assert "\x1b[" not in out  # no colour codes into a pipe
    assert re.search(r"^  1\s+10\s+10\s+55 s\s+1 min 30 s$", out, re.MULTILINE), out
    assert "Gate 2" in out and "Perimeter fence" in out


async def test_a_shift_from_the_config(cache: Path, tmp_path: Path) -> None:
    config = tmp_path / "vmstui.toml"
    config.write_text(
        f'[cache]\npath = "{cache}"\n\n[[shifts]]\nname = "night"\nstart = "18:00"\nend = "06:00"\n'
    )
    code, out, err = await vmstui(
        "report", "--config", str(config), "--shift", "night", "--format", "json"
    )
    assert code == 0, err
    report = orjson.loads(out)
    assert report["since"] < report["until"]
    code, _out, err = await vmstui("report", "--config", str(config), "--shift", "day")
    assert code == 1 and "no shift named 'day' (configured: night)" in err, err


def html_report(cache: Path, tmp_path: Path) -> str:
    page = tmp_path / "report.html"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "vmstui",
            "report",
            "--cache",
            str(cache),
            *PERIOD,
            "--html",
            str(page),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return page.read_text(encoding="utf-8")


class Tags(HTMLParser):
    """Every element and attribute of a page, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _value in attrs)


def test_hostile_names_are_escaped_in_html(cache: Path, tmp_path: Path) -> None:
    html = html_report(cache, tmp_path)
    assert HOSTILE not in html
    assert escape(HOSTILE) in html
    parsed = Tags()
    parsed.feed(html)
    # the name's <script> and <img onerror> stayed text; nothing is fetched from anywhere
    assert not parsed.tags & {"script", "img", "link", "iframe", "object"}, parsed.tags
    assert not parsed.attributes & {"src", "href", "onerror", "onload"}, parsed.attributes
    assert "@import" not in html and "url(" not in html
    assert html.count("<svg") == 3


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "needs Debian's chromium (.ci/brokers.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI)")
        unavailable(reason)
    assert found is not None
    return found


def headless(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--window-size=1000,2400",
            *args,
        ],
        capture_output=True,
        timeout=BROWSER_S,
        check=False,
    )


def test_the_page_renders_its_charts_in_a_real_browser(cache: Path, tmp_path: Path) -> None:
    browser = chromium()
    html_report(cache, tmp_path)
    page = (tmp_path / "report.html").as_uri()
    dumped = headless(browser, tmp_path / "profile", "--dump-dom", page)
    assert dumped.returncode == 0, dumped.stderr.decode(errors="replace")[-2000:]
    dom = dumped.stdout.decode()
    # the browser parsed the charts as SVG: three charts, their bars, no stray script
    assert dom.count("<svg") == 3
    assert len(re.findall(r'<rect class="bar count"', dom)) >= 3
    assert '<rect class="bar p90"' in dom
    assert dom.count('<rect class="span"') == 2  # the two floods, shaded on the timeline
    assert "<script" not in dom
    assert escape(HOSTILE, quote=False) in dom  # shown as text

    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    sizes = []
    for name, url in (("report.png", page), ("blank.png", blank.as_uri())):
        shot = tmp_path / name
        done = headless(browser, tmp_path / "profile", f"--screenshot={shot}", url)
        assert done.returncode == 0 and shot.exists(), done.stderr.decode(errors="replace")[-2000:]
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        sizes.append(shot.stat().st_size)
    # a blank page of the same size compresses to almost nothing; the drawn one does not
    assert sizes[0] > 10 * sizes[1], sizes
