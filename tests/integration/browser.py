"""Headless Chromium for the dashboard tests: Debian's `chromium` driven by Playwright (nothing downloaded).

`make test` installs both (see the Makefile's browser target); a missing browser fails the tests, never skips them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CURATE_CHROMIUM", "/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "out" / "dashboard-screenshots"  # git-ignored: for a person to look at


def chromium_path() -> str:
    """The browser binary, or a failure that says how to install it."""
    path = CHROMIUM if os.path.isfile(CHROMIUM) else shutil.which("chromium")
    if not path:
        pytest.fail(f"headless Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` "
                    "(`make browser` does) or point CURATE_CHROMIUM at a Chromium binary")
    return path


@dataclass
class Visit:
    """What happened while a page was open: console errors, uncaught errors, requests to anything but files."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)


@contextmanager
def browser_page(width: int = 1280) -> Iterator[tuple[object, Visit]]:
    """A fresh headless page `width` CSS pixels wide and the record of its visit."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[test]' (make test does)")
    executable = chromium_path()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            visit = Visit()
            page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: visit.page_errors.append(str(e)))
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "about:"))
                    else visit.remote_requests.append(r.url))
            yield page, visit
        finally:
            browser.close()


def screenshot(page: object, folder: Path, name: str) -> Path:
    """Save a full-page screenshot in `folder` and a copy in out/dashboard-screenshots/."""
    path = folder / name
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SCREENSHOTS / name)
    return path


# Measured in the page (Playwright's evaluate, which the pages' Content-Security-Policy does not block): every
# chart inside its panel, every label inside its chart, no two panels overlapping, nothing wider than the window.
_LAYOUT_JS = """() => {
  const out = [], tol = 1, W = window.innerWidth;
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const box = e => e.getBoundingClientRect();
  const show = b => `[x ${b.left.toFixed(1)}-${b.right.toFixed(1)}, y ${b.top.toFixed(1)}-${b.bottom.toFixed(1)}]`;
  const inside = (a, b) => a.left >= b.left - tol && a.right <= b.right + tol && a.top >= b.top - tol
    && a.bottom <= b.bottom + tol;
  const name = e => (e.closest('figure')?.querySelector('h3')?.textContent || '') + ' ' + e.getAttribute('class');
  const svgs = [...document.querySelectorAll('svg')];
  for (const svg of svgs) {
    const panel = svg.closest('figure'), a = box(svg);
    if (!panel) { out.push(`${name(svg)}: chart outside any panel`); continue; }
    const b = box(panel);
    if (!inside(a, b)) out.push(`${name(svg)}: chart ${show(a)} not inside its panel ${show(b)}`);
    if (a.width < 100 || a.height < 10) out.push(`${name(svg)}: chart only ${show(a)}`);
    for (const t of svg.querySelectorAll('text'))
      if (!inside(box(t), a)) out.push(`${name(svg)}: label "${t.textContent}" ${show(box(t))} outside its chart ${show(a)}`);
    const marks = [...svg.querySelectorAll('rect:not(.hit), circle')].filter(m => {
      const r = m.getBBox(); return r.width > 0.4 && r.height > 0.4; });
    if (!marks.length) out.push(`${name(svg)}: an empty chart (nothing drawn)`);
  }
  const panels = [...document.querySelectorAll('figure')].map(f => [f, box(f)]);
  for (const [f, b] of panels) {
    if (b.left < -tol || b.right > W + tol) out.push(`${name(f)}: panel ${show(b)} outside the window (${W} px)`);
  }
  for (let i = 0; i < panels.length; i++) for (let j = i + 1; j < panels.length; j++) {
    const [p, a] = panels[i], [q, b] = panels[j];
    const dx = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const dy = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (dx > tol && dy > tol) out.push(`panels ${name(p)} ${show(a)} and ${name(q)} ${show(b)} overlap`);
  }
  const sw = document.documentElement.scrollWidth;
  if (sw > W + tol) out.push(`the page is ${sw} px wide in a ${W} px window`);
  return {problems: out, charts: svgs.length, panels: panels.length};
}"""


def layout(page: object) -> dict:
    """{problems, charts, panels} of the open page: see _LAYOUT_JS (opens every <details> first)."""
    return page.evaluate(_LAYOUT_JS)  # type: ignore[attr-defined]
