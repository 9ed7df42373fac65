"""Open pages in Debian's headless Chromium through Selenium (the viewer's browser tests and benchmark)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--use-angle=swiftshader",
                  "--enable-unsafe-swiftshader", "--autoplay-policy=no-user-gesture-required", "--mute-audio")


def missing_browser() -> str | None:
    """Why a headless browser session cannot start here (a sentence), or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e .[test])"
    for exe in ("chromium", "chromedriver"):
        if shutil.which(exe) is None:
            return f"{exe} is not installed (apt-get install chromium chromium-driver)"
    return None


def chromium(width: int = 1280, height: int = 720) -> Any:
    """A Selenium Chrome driver on Debian's chromium, keeping the browser console and network logs."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (*CHROMIUM_FLAGS, f"--window-size={width},{height}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))


def open_viewer(driver: Any, page: Path, query: str = "", timeout_s: float = 60.0) -> dict:
    """Load `page` (file://) and wait until `window.posemambaViewer` exists; return its counts and timings."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(Path(page).resolve().as_uri() + query)
    WebDriverWait(driver, timeout_s, poll_frequency=0.05).until(
        lambda d: d.execute_script("return !!window.posemambaViewer || "
                                   "document.getElementById('pm-note').textContent.startsWith('viewer error')"))
    return driver.execute_script(
        "const v = window.posemambaViewer; if (!v) return {error: document.getElementById('pm-note').textContent};"
        "return {nFrames: v.nFrames, nPeople: v.nPeople, frame: v.frame, readyAt: v.readyAt, readyMs: v.readyMs};")


def wait_drawn(driver: Any, frame: int, timeout_s: float = 20.0) -> None:
    """Wait until the viewer has drawn `frame`."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout_s, poll_frequency=0.02).until(
        lambda d: d.execute_script("return window.posemambaViewer.drawnFrame") == frame)


def requested_urls(driver: Any) -> list[str]:
    """Every URL the page requested since the last call (Chrome's performance log, Network events)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def console_errors(driver: Any) -> list[str]:
    """The console's error messages since the last call."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
