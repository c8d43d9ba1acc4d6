"""`decision-atlas ui` execs Streamlit: killing the command stops the server (no orphan left serving)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.read() == b"ok"
    except OSError:
        return False


def test_sigterm_to_the_ui_command_stops_the_server():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "ui", "--headless", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 90
        while not _healthy(port):
            assert proc.poll() is None, "the ui command exited before serving"
            assert time.time() < deadline, "the server did not start"
            time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)  # what `kill PID` sends to the process the user started
        proc.wait(timeout=30)
        time.sleep(1.0)
        assert not _healthy(port), "Streamlit still serves after the ui command was killed"
    finally:
        if proc.poll() is None:
            proc.kill()


def _config_value(section_name: str, key: str) -> list[str]:
    """The uncommented `key = value` lines of one section of the repository's .streamlit/config.toml."""
    from pathlib import Path
    text = (Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text()
    section = text.split(f"[{section_name}]", 1)[1].split("\n[", 1)[0]  # Python 3.10 has no tomllib
    return [line.split("#")[0].strip() for line in section.splitlines() if key in line and
            not line.lstrip().startswith("#")]


def test_the_server_skips_streamlits_full_gc_after_each_rerun(monkeypatch):
    """Both ways of starting the UI turn off Streamlit's post-run gc.collect() (0.28 s of server CPU per
    rerun with PyTorch loaded) and deflate the WebSocket: the ui command's flags, and the repository's
    .streamlit/config.toml."""
    from app import cli

    seen = {}
    monkeypatch.setattr(cli.os, "execv", lambda path, cmd: seen.setdefault("cmd", cmd))
    cli.main(["ui", "--headless", "--port", "8599"])
    cmd = seen["cmd"]
    assert cmd[cmd.index("--runner.postScriptGC") + 1] == "false"
    assert cmd[cmd.index("--server.enableWebsocketCompression") + 1] == "true"
    assert _config_value("runner", "postScriptGC") == ["postScriptGC = false"]
    assert _config_value("server", "enableWebsocketCompression") == ["enableWebsocketCompression = true"]
    assert cmd[cmd.index("--global.disableWidgetStateDuplicationWarning") + 1] == "true"
    assert _config_value("global", "disableWidgetStateDuplicationWarning") == [
        "disableWidgetStateDuplicationWarning = true"]
