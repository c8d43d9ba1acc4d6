"""The built wheel works without the source tree: it ships every package and the embedded assets, and the
installed `decision-atlas` lists and loads the models and starts the UI from another directory.

The wheel is built offline (no build isolation, no dependencies) from a copy of the sources, installed with
`pip install --target` into a fresh folder, and run with this interpreter and PYTHONPATH set to that folder
only, from a directory outside the repository. Each check first confirms that the modules it used came from
the installed folder, not from the checkout (the editable install of the checkout stays behind it on the
import path).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "setup.py", "README.md", "geometry", "app", "assets")
ASSET_PATTERNS = ("models/*.json", "models/*.safetensors", "images/*.npz", "images/*.png")


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
         ) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a clean copy of the sources (an in-tree build/ could carry stale files)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", str(out), str(src)], cwd=src)
    (whl,) = out.glob("*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, dict[str, str], Path]:
    """(install folder, environment that sees only it, a working directory outside the repository)."""
    target = tmp_path_factory.mktemp("site")
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target),
          str(wheel)], cwd=target)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(target)}
    return target, env, tmp_path_factory.mktemp("elsewhere")


def test_wheel_ships_every_package_and_asset(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = [p.parent.relative_to(ROOT) for top in ("geometry", "app") for p in (ROOT / top).rglob("__init__.py")]
    assert {"geometry", "app", "app/app_pages", "app/figures"} <= {str(p) for p in packages}
    for p in packages:
        assert f"{p.as_posix()}/__init__.py" in names, f"package {p} missing from the wheel"
    assets = [p.relative_to(ROOT / "assets") for pat in ASSET_PATTERNS for p in (ROOT / "assets").glob(pat)]
    assert any(p.suffix == ".safetensors" for p in assets) and any(p.suffix == ".npz" for p in assets)
    for p in assets:
        assert f"decision_atlas_assets/{p.as_posix()}" in names, f"asset {p} missing from the wheel"


def test_installed_models_command_lists_the_embedded_models(installed, wheel):
    target, env, elsewhere = installed
    shipped = sorted(Path(n).stem for n in zipfile.ZipFile(wheel).namelist()
                     if n.startswith("decision_atlas_assets/models/") and n.endswith(".safetensors"))
    assert "mnist-relu-cnn" in shipped
    out = _run([str(target / "bin" / "decision-atlas"), "models"], cwd=elsewhere, env=env, timeout=300)
    listed = {line.split()[0] for line in out.stdout.splitlines() if line.strip()}
    assert set(shipped) <= listed, f"shipped {shipped}, listed:\n{out.stdout}"


PREDICT = """
import json, geometry, app, decision_atlas_assets
from geometry.images import load_digits
from geometry.loading import ASSETS_DIR, load_embedded
model = load_embedded("mnist-relu-cnn")
digits = load_digits()
pred = model.predict(digits.images).numpy()
print(json.dumps({"files": [geometry.__file__, app.__file__, decision_atlas_assets.__file__, str(ASSETS_DIR)],
                  "n": len(pred), "accuracy": float((pred == digits.labels).mean())}))
"""


def test_installed_package_loads_an_embedded_model_and_predicts(installed):
    target, env, elsewhere = installed
    out = _run([sys.executable, "-c", PREDICT], cwd=elsewhere, env=env, timeout=300)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    for f in res["files"]:
        assert Path(f).resolve().is_relative_to(target.resolve()), f"{f} does not come from the installed wheel"
    assert res["n"] >= 100
    assert res["accuracy"] >= 0.9  # the card reports about 0.98 on these held-out digits


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, r.read()
    except OSError:
        return None


def test_installed_ui_command_serves_the_dashboard(installed):
    target, env, elsewhere = installed
    port = _free_port()
    proc = subprocess.Popen([str(target / "bin" / "decision-atlas"), "ui", "--headless", "--port", str(port)],
                            cwd=elsewhere, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while _get(f"http://127.0.0.1:{port}/_stcore/health") != (200, b"ok"):
            assert proc.poll() is None, "the installed ui command exited before serving"
            assert time.time() < deadline, "the installed dashboard did not start"
            time.sleep(0.5)
        status, page = _get(f"http://127.0.0.1:{port}/") or (0, b"")
        assert status == 200 and b"<html" in page.lower()
    finally:
        proc.kill()
        proc.wait(timeout=30)


HOME = """
import sys
from streamlit.testing.v1 import AppTest
import app
at = AppTest.from_file(app.__file__.replace("__init__.py", "streamlit_app.py"), default_timeout=240)
at.run()
print(app.__file__)
print("exceptions:", [e.message for e in at.exception])
sel = at.session_state["selection"]
print("selection:", sel.model.name, sel.image.shape)
"""


def test_installed_home_page_runs_on_the_shipped_model(installed):
    target, env, elsewhere = installed
    out = _run([sys.executable, "-c", HOME], cwd=elsewhere, env=env, timeout=400)
    lines = out.stdout.strip().splitlines()
    assert Path(lines[-3]).resolve().is_relative_to(target.resolve())
    assert lines[-2] == "exceptions: []"
    assert lines[-1] == "selection: mnist-relu-cnn (1, 28, 28)"
