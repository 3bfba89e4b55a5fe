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
def browser_page() -> Iterator[tuple[object, Visit]]:
    """A fresh headless page and the record of its visit."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[test]' (make test does)")
    executable = chromium_path()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
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
