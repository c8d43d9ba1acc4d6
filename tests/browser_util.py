"""Headless Chromium helpers for the browser tests and for looking at pages by hand:

    python tests/browser_util.py http://localhost:8501/ out.png
"""

from __future__ import annotations

import shutil
import socket
import sys
import time
import urllib.request
from collections.abc import Callable

CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,1800")


def find_chromium() -> tuple[str, str] | None:
    """(browser, driver) paths when Debian's chromium and chromium-driver are installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def make_driver(user_data_dir: str, *, performance_log: bool = False):
    """Headless Chromium with its own profile; `performance_log` keeps DevTools' network log (bytes sent)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_chromium()
    if found is None:
        raise RuntimeError("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={user_data_dir}")
    if performance_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(found[1]), options=options)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc, timeout: float = 60, log: Callable[[], str] | None = None) -> None:
    """Wait until a `streamlit run` server at `url` answers its health check; raise if it exits first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited: {(log() if log else proc.stdout.read().decode())[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("streamlit did not become healthy")


# The waits run inside the page: one asynchronous script checks the page every 0.25 s with its own timer and
# answers once. Polling from Python cost the browser more than the app: Selenium's own `is_displayed()` and
# `.text` send ~60 kB JavaScript "atoms" with every call and walk the page's computed styles (about 0.2 s of
# the browser's CPU per call on a Streamlit page, per a Chromium trace of a tour walk), and even one small
# script per poll is a round trip through chromedriver and the browser process (about 15 ms of the browser's
# CPU each, 0.4 s over a tour walk).
_WAIT = """
const [text, quietMs, chunkMs, fresh, done] = arguments;
const start = Date.now();
if (fresh) window.__atlasQuietSince = null;  // kept on the page across the calls of one wait
const timer = setInterval(() => {
  const now = Date.now();
  const busy = [...document.querySelectorAll('[data-testid="stStatusWidget"]')]
      .some(el => el.checkVisibility({opacityProperty: true, visibilityProperty: true}));
  const drawn = document.querySelector('[data-testid="stElementContainer"]') !== null;
  let ok;
  if (text !== null) {
    ok = document.body.textContent.includes(text);
  } else {
    const since = busy || !drawn ? null : (window.__atlasQuietSince ?? now);
    window.__atlasQuietSince = since;
    ok = since !== null && now - since >= quietMs;
  }
  if (ok || now - start >= chunkMs) {
    clearInterval(timer);
    done(ok);
  }
}, 250);
"""
CHUNK = 60.0  # seconds per call: well within the 120 s that Selenium waits for any one WebDriver answer


def wait_in_page(driver, *, text: str | None = None, quiet_for: float = 2.0, timeout: float = 60.0) -> bool:
    """Wait, inside the page, until `text` is in the page's text or, with no text, until the app has been quiet
    (no script run showing as busy, something drawn) for `quiet_for` s. False when `timeout` s passed first. A
    long wait is a few calls of at most CHUNK s; a page too busy even to answer one in time is not done yet."""
    from selenium.common.exceptions import JavascriptException, TimeoutException
    deadline = time.time() + timeout
    fresh = True
    while (left := deadline - time.time()) > 0:
        chunk = min(left, CHUNK)
        driver.set_script_timeout(chunk + 30)  # the page answers at its own chunk's end; this is the backstop
        try:
            if driver.execute_async_script(_WAIT, text, int(quiet_for * 1000), int(chunk * 1000), fresh):
                return True
        except TimeoutException:
            pass
        except JavascriptException:  # the page reloaded under the waiting script: wait on the new one
            time.sleep(0.25)
        fresh = False
    return False


def wait_for_text(driver, text: str, *, timeout: float = 60.0) -> None:
    """Wait until `text` appears in the page's text (hidden elements included)."""
    if not wait_in_page(driver, text=text, timeout=timeout):
        raise TimeoutError(f"{text!r} did not appear within {timeout:.0f} s")


def wait_for_app(driver, *, timeout: float = 60.0, quiet_for: float = 2.0) -> None:
    """Wait until Streamlit's script run has finished (no "Running…"/Stop status) and stayed finished."""
    if not wait_in_page(driver, quiet_for=quiet_for, timeout=timeout):
        raise TimeoutError(f"the app did not finish rendering within {timeout:.0f} s")


def screenshot(url: str, path: str, *, timeout: float = 90.0) -> list[str]:
    """Load `url`, wait for the app, save a full-page PNG; returns the texts of any exception boxes."""
    import tempfile

    from selenium.webdriver.common.by import By

    with tempfile.TemporaryDirectory() as profile:
        driver = make_driver(profile)
        try:
            driver.get(url)
            wait_for_app(driver, timeout=timeout)
            height = driver.execute_script("return document.body.scrollHeight") or 1800
            driver.set_window_size(1400, min(max(1800, height), 6000))
            time.sleep(1.0)
            driver.save_screenshot(path)
            return [e.text for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')]
        finally:
            driver.quit()


if __name__ == "__main__":
    print(screenshot(sys.argv[1], sys.argv[2]))
