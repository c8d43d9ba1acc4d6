"""A real browser: start `streamlit run`, load every page in headless Chromium, check it rendered without an
exception, and save screenshots under test-output/screenshots/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.browser_util import find_chromium, free_port, make_driver, wait_for_app, wait_for_text, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-output" / "screenshots"
PAGES = ["", "cross_sections", "curvature", "paths", "detection", "compare", "findings", "toy"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url():
    if find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: install chromium and chromium-driver (see .ci/run)")
        pytest.skip("chromium/chromedriver not installed (apt-get install chromium chromium-driver)")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "streamlit_app.py"),
         "--server.headless", "true", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def driver(app_url, tmp_path_factory):
    d = make_driver(str(tmp_path_factory.mktemp("chromium-profile")))
    yield d
    d.quit()


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_in_chromium(app_url, driver, page):
    from selenium.webdriver.common.by import By

    driver.get(f"{app_url}/{page}")
    wait_for_app(driver, timeout=180)
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{page or 'home'}.png"))
    errors = [e.text for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')]
    assert not errors, errors
    assert driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebar"]')
    if page == "":
        charts = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stPlotlyChart"]')
        assert len(charts) == 3 and all(c.is_displayed() for c in charts)
        assert "Smallest perturbation" in driver.find_element(By.TAG_NAME, "body").text


def _sidebar_text(d) -> str:
    from selenium.webdriver.common.by import By
    return d.find_element(By.CSS_SELECTOR, '[data-testid="stSidebar"]').text


def _set_sample(d, value: int) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    box = d.find_element(By.CSS_SELECTOR, '[data-testid="stSidebar"] input[type="number"]')
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(str(value), Keys.ENTER)


def test_two_browser_sessions_keep_separate_state(app_url, driver, tmp_path_factory):
    other = make_driver(str(tmp_path_factory.mktemp("chromium-profile-2")))
    try:
        for d in (driver, other):
            d.get(app_url)
            wait_for_app(d, timeout=180)
            # a fresh browser on a busy machine can look quiet before the sidebar's sample box arrives
            wait_for_text(d, "Sample (0–", timeout=180)
        _set_sample(other, 7)
        wait_for_app(other, timeout=180)
        _set_sample(driver, 3)
        wait_for_app(driver, timeout=180)
        assert "test digit #7" in _sidebar_text(other)
        assert "test digit #3" in _sidebar_text(driver) and "test digit #7" not in _sidebar_text(driver)
    finally:
        other.quit()


def test_uploads_in_the_browser_show_notes_and_clear_errors(app_url, driver, tmp_path):
    """A real upload: an RGB photo is converted with a visible note; a corrupt file gives a message."""
    import numpy as np
    from PIL import Image
    from selenium.webdriver.common.by import By

    good, bad = tmp_path / "photo.png", tmp_path / "broken.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 48, 3), dtype=np.uint8)).save(good)
    bad.write_bytes(good.read_bytes()[:200])
    driver.get(app_url)
    wait_for_app(driver, timeout=180)
    driver.find_element(By.XPATH, '//*[@data-testid="stSidebar"]//label[contains(., "Upload")]').click()
    wait_for_app(driver, timeout=60)
    for path, expected in ((good, "converted RGB to grayscale"), (bad, "corrupt or truncated")):
        # the image box is the sidebar's last file input (the data-set upload sits above the image source)
        box = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebar"] input[type="file"]')[-1]
        box.send_keys(str(path))
        deadline = time.time() + 60
        while expected not in _sidebar_text(driver) and time.time() < deadline:
            time.sleep(0.5)
        wait_for_app(driver, timeout=180)
        SHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SHOTS / f"upload_{path.stem}.png"))
        assert expected in _sidebar_text(driver)
        assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')


def test_a_shared_link_restores_view_model_image_and_settings(app_url, driver):
    """Open a link as a colleague would: the page, the model, the sample and the plane's settings come back,
    and the address bar keeps carrying them."""
    from urllib.parse import quote

    from selenium.webdriver.common.by import By

    url = (f"{app_url}/cross_sections?model=mnist-softplus-cnn&sample=7&plane={quote('random × random')}"
           "&res=40&grid=dense")
    driver.get(url)
    wait_for_app(driver, timeout=240)
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / "shared_link.png"))
    body = driver.find_element(By.TAG_NAME, "body").text
    assert "Boundary cross-sections" in body  # the view
    side = _sidebar_text(driver)
    assert "mnist-softplus-cnn" in side and "test digit #7 " in side  # the model and the image
    assert "random × random plane through test digit #7" in body  # the plane kind, used by the map
    assert "1,600" in body or "1,601" in body  # a dense 40 × 40 grid: the resolution came back too
    assert "res=40" in driver.current_url and "sample=7" in driver.current_url
    assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')


def test_drawing_a_digit_on_the_canvas(app_url, driver):
    """The Draw source: a stroke on the canvas becomes the chosen image (white on black, with a note)."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.by import By

    driver.get(f"{app_url}/tour")  # a page that computes nothing
    wait_for_app(driver, timeout=180)
    driver.find_element(By.XPATH, '//*[@data-testid="stSidebar"]//label[contains(., "Draw")]').click()
    wait_for_app(driver, timeout=60)
    time.sleep(2)
    box = driver.execute_script(
        "const hosts=[...document.querySelectorAll('[data-testid=\"stSidebar\"] *')].filter(e=>e.shadowRoot);"
        "for (const h of hosts){const c=h.shadowRoot.querySelector('canvas'); if(c){const r=c.getBoundingClientRect();"
        "return [r.left, r.top, r.width, r.height];}} "
        "const c=document.querySelector('[data-testid=\"stSidebar\"] canvas');"
        "if(c){const r=c.getBoundingClientRect(); return [r.left, r.top, r.width, r.height];} return null;")
    assert box, "no drawing canvas in the sidebar"
    left, top, width, height = box
    pen = ActionBuilder(driver)
    pen.pointer_action.move_to_location(int(left + width * 0.5), int(top + height * 0.15)).pointer_down()
    for k in range(1, 15):  # a "1": one vertical stroke
        pen.pointer_action.move_to_location(int(left + width * 0.5), int(top + height * (0.15 + 0.05 * k)))
    pen.pointer_action.pointer_up()
    pen.perform()
    deadline = time.time() + 60
    while "your drawing" not in _sidebar_text(driver) and time.time() < deadline:
        time.sleep(0.5)
    wait_for_app(driver, timeout=120)
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / "drawing.png"))
    assert "your drawing" in _sidebar_text(driver)


def _choose(d, label: str, option: str) -> None:
    """Pick `option` in the sidebar select box labelled `label`, as a user would: open it, click the option."""
    from selenium.webdriver.common.by import By
    d.find_element(By.XPATH, f'//*[@data-testid="stSidebar"]//*[@data-testid="stSelectbox"]'
                             f'[.//label[contains(., "{label}")]]').click()
    deadline = time.time() + 20
    while time.time() < deadline:
        found = [o for o in d.find_elements(By.CSS_SELECTOR, '[role="option"]') if option in o.text]
        if found:
            found[0].click()
            return
        time.sleep(0.25)
    raise AssertionError(f"no option {option!r} in {label!r}")


def _upload_nth(d, n: int, path: Path, expected: str, timeout: float = 120) -> None:
    """Send `path` to the sidebar's n-th file input and wait until `expected` shows in the sidebar."""
    from selenium.webdriver.common.by import By
    d.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebar"] input[type="file"]')[n].send_keys(str(path))
    deadline = time.time() + timeout
    while expected not in _sidebar_text(d) and time.time() < deadline:
        time.sleep(0.5)
    wait_for_app(d, timeout=timeout)
    assert expected in _sidebar_text(d), _sidebar_text(d)[-1500:]


def test_your_model_card_and_data_set_reach_a_cross_section(app_url, driver, tmp_path):
    """Issue 15's walk: choose "your model file", upload a torch.export program, its card and a .zip data set,
    open Cross-sections from the navigation (same session) and get a plane through one of the uploaded images."""
    import io
    import zipfile

    import numpy as np
    from PIL import Image
    from selenium.webdriver.common.by import By

    from tests.user_models import card, save_exported, tiny_cifar_net, write_card

    model = save_exported(tiny_cifar_net("softplus"), tmp_path / "net.pt2")
    card_file = write_card(tmp_path / "net.json", card("softplus"))
    data = tmp_path / "mine.zip"
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(data, "w") as z:
        for i, folder in enumerate(("cat", "cat", "ship", "dog", "dog")):
            png = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(png, format="PNG")
            z.writestr(f"{folder}/{i}.png", png.getvalue())

    driver.get(f"{app_url}/tour")  # a page that computes nothing
    wait_for_app(driver, timeout=180)
    _choose(driver, "Model", "your model file")
    wait_for_app(driver, timeout=60)
    assert "Upload your model file and give its card" in _sidebar_text(driver)
    _upload_nth(driver, 0, model, "net.pt2")
    _upload_nth(driver, 1, card_file, "tiny-cifar-softplus: your model (torch.export) · input (3, 32, 32)")
    _upload_nth(driver, 2, data, "mine.zip, 5 images with labels")  # the data-set box appears with the model
    assert "Sample (0–4)" in _sidebar_text(driver)
    driver.find_element(By.CSS_SELECTOR, '[data-testid="stSidebarNav"] a[href$="cross_sections"]').click()
    time.sleep(1)
    wait_for_app(driver, timeout=300)
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / "your_model_cross_section.png"))
    body = driver.find_element(By.TAG_NAME, "body").text
    assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
    assert "tiny-cifar-softplus" in _sidebar_text(driver) and "mine.zip" in _sidebar_text(driver)
    assert "Boundary cross-sections" in body and "regions (components)" in body
    shown = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stPlotlyChart"]')
    assert any("plane through dog/3.png" in c.text for c in shown), [c.text[:80] for c in shown]


def test_the_guided_tour_walks_through_every_step(app_url, driver):
    """A teacher's walk: Start the tour, then Next to the last step; each step's view renders without an
    exception, the bar names the step, and the views with an example say which rule picked the image."""
    from selenium.webdriver.common.by import By

    from app.tour import STEPS

    driver.get(f"{app_url}/tour")
    wait_for_app(driver, timeout=180)
    driver.find_element(By.CSS_SELECTOR, ".st-key-tour_start button").click()
    for i, step in enumerate(STEPS):
        if i:
            driver.find_element(By.CSS_SELECTOR, ".st-key-tour_next button").click()
        deadline = time.time() + 240
        while f"step {i + 1} of {len(STEPS)}" not in driver.find_element(By.TAG_NAME, "body").text:
            assert time.time() < deadline, f"step {i + 1} did not open"
            time.sleep(0.5)
        wait_for_app(driver, timeout=300)
        body = driver.find_element(By.TAG_NAME, "body").text
        assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]'), step.title
        assert step.title in body
        assert driver.current_url.split("?")[0].rstrip("/").endswith(step.page or str(app_url).rstrip("/"))
        if step.page in ("cross_sections", "curvature", "paths", "detection"):
            assert "Example (sample #" in body or "No example" in body, step.title
        if i == 2:  # the curved plane, as the README shows it
            SHOTS.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(SHOTS / "tour_step3.png"))


def _ws_handshake(host: str, port: int) -> str:
    """The response head of a WebSocket upgrade of Streamlit's stream that offers per-message deflate."""
    import base64
    import socket
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
               "Sec-WebSocket-Protocol: streamlit\r\n\r\n")
    with socket.create_connection((host, port), timeout=20) as s:
        s.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
    return head.split(b"\r\n\r\n", 1)[0].decode("latin-1")


def test_the_classroom_proxy_gzips_and_passes_the_websocket(app_url, driver):
    """deploy/nginx-classroom.conf in front of the app (as README's "Teaching a class" runs it): Streamlit's
    JavaScript arrives gzipped and, from the second browser on, from nginx's cache; the WebSocket still works
    (the page renders through the proxy) and the app itself agrees to deflate the WebSocket's messages."""
    import gzip
    import re
    import shutil
    import urllib.request

    from selenium.webdriver.common.by import By

    from bench.classroom import start_proxy

    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        if os.environ.get("CI"):
            pytest.fail("CI must run this test: nginx is installed by `make browser-deps`")
        pytest.skip("nginx not installed (apt-get install nginx-light)")
    upstream = int(app_url.rsplit(":", 1)[1])
    listen = free_port()
    proxy = start_proxy(listen, upstream)
    try:
        base = f"http://127.0.0.1:{listen}"
        html = urllib.request.urlopen(f"{base}/", timeout=20).read().decode()
        script = re.search(r'src="\.?/?(static/js/index\.[^"]+\.js)"', html).group(1)
        direct = urllib.request.urlopen(f"{app_url}/{script}", timeout=20).read()
        req = urllib.request.Request(f"{base}/{script}", headers={"Accept-Encoding": "gzip"})
        for cache in ("MISS", "HIT"):  # the first student's browser fetches it from the app, the next from nginx
            with urllib.request.urlopen(req, timeout=20) as r:
                assert r.headers.get("Content-Encoding") == "gzip"
                assert r.headers.get("X-Cache-Status") == cache
                body = r.read()
            assert gzip.decompress(body) == direct and len(body) < len(direct) / 2

        head = _ws_handshake("127.0.0.1", listen)
        assert head.startswith("HTTP/1.1 101") and "permessage-deflate" in head.lower(), head

        driver.get(f"{base}/")
        wait_for_app(driver, timeout=180)
        assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
        assert len(driver.find_elements(By.CSS_SELECTOR, '[data-testid="stPlotlyChart"]')) == 3
    finally:
        os.killpg(proxy.pid, 15)
        proxy.wait(timeout=20)
