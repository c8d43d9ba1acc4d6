"""A classroom: N concurrent real browser sessions (headless Chromium, one per student) each walking the guided
tour (app/tour.py) against ONE `streamlit run app/streamlit_app.py` server started here, for N = 1, 5, 10, 15.

    .venv/bin/python -m bench.classroom --sessions 1,5,10,15 --label before --write
    .venv/bin/python -m bench.classroom --sessions 1 --steps 2          # a quick trial, nothing written
    .venv/bin/python -m bench.classroom --proxy nginx ...               # through deploy/nginx-classroom.conf
    .venv/bin/python -m bench.classroom --compare before.json after.json --write   # the before/after section

--app-dir serves a frozen copy of the repository (e.g. `git archive HEAD | tar -x -C DIR`), so that edits made
during a long run do not reach the server; --json keeps the raw records for --compare.

A walk: open /tour ("load"), press "Start the tour" (step 1), then "Next ▶" until the last step. Per step and
session we record the end-to-end time (from the click until the app is quiet: the step's bar is drawn and no
script runs; the quiet period that wait_for_app waits for is subtracted), errors (stException boxes on the page,
timeouts, a browser that stops answering), the bytes the browser received (Chrome's performance log: the
decoded sizes of the WebSocket frames plus the encoded sizes of HTTP responses; Chromium's own chrome://
resources left out) and the CPU-seconds of the session's own Chromium processes. Per round, the bytes that
crossed the wire (TCP, compressed where they were) are read from the served port's sockets with `ss`. The
harness waits inside the page (tests/browser_util.wait_in_page: one asynchronous script per wait that checks
the page with its own timer), not by polling with Selenium's is_displayed or .text, whose JavaScript cost the
browser more CPU than the app's own rendering, nor with one WebDriver call per poll (about 0.4 s per walk).
--figures none serves the app with every figure left out (bench/classroom_no_figures.py): the floor of what
a walk costs the browser in Streamlit itself.
The server's CPU-seconds (user + system, psutil) are taken over each round
(per walk = total / the walks' worth of pages served, = N when every session walked the whole tour) and, per
step, shared out in 0.5 s slices among the sessions busy with a step in that slice (exact at N = 1). Server
memory: RSS before each round and the largest during it (sessions still open).

Before the rounds, one untimed warm-up walk fills the server's caches (reported on its own), so every round
measures the steady state a class meets after the teacher has opened the tour once.

psutil is needed (pip install psutil); the pure helpers below import without it, selenium or a browser.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.sections import markdown_table
from tests.browser_util import free_port, wait_for_text, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
N_TOUR_STEPS = 8  # app/tour.py STEPS (checked against it at run time)
STEP_TIMEOUT = 300.0
QUIET = 2.0
SLICE = 0.5


# ----------------------------------------------------------------------------------------------- pure helpers
def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between order statistics; nan for no values."""
    xs = sorted(v for v in values if v == v)
    if not xs:
        return float("nan")
    if len(xs) == 1:
        return float(xs[0])
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return float(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))


def step_button(i: int) -> str:
    """CSS selector of the button that opens tour step i (1-based): Start on the tour page, then Next."""
    return f".st-key-{'tour_start' if i == 1 else 'tour_next'} button"


def step_marker(i: int) -> str:
    """Text that the tour's bar shows once step i is open."""
    return f"step {i} of {N_TOUR_STEPS}"


def parse_sessions(text: str) -> list[int]:
    """'1,5,10,15' -> [1, 5, 10, 15] (positive, in the order given)."""
    out = [int(t) for t in text.replace(" ", "").split(",") if t]
    if not out or any(n < 1 for n in out):
        raise ValueError(f"--sessions wants positive integers, got {text!r}")
    return out


def fmt_bytes(n: float) -> str:
    if n != n:
        return "–"
    for unit, size in (("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}" if unit == "MB" else f"{n / size:.0f} {unit}"
    return f"{n:.0f} B"


def fmt_s(x: float, digits: int = 1) -> str:
    return "–" if x != x else f"{x:.{digits}f}"


def ws_frame_bytes(params: dict) -> int:
    """Bytes of one Network.webSocketFrameReceived frame: binary frames (opcode 2) arrive base64 encoded."""
    resp = params.get("response", {})
    data = resp.get("payloadData", "") or ""
    if resp.get("opcode") == 2:
        pad = len(data) - len(data.rstrip("="))
        return max(0, len(data) * 3 // 4 - pad)
    return len(data.encode("utf-8"))


def bytes_from_log(entries: list[dict]) -> tuple[int, int]:
    """(WebSocket bytes received, HTTP bytes received) in a batch of Chrome performance-log entries.

    HTTP: Network.dataReceived's encodedDataLength, or Network.loadingFinished's total for a request whose
    dataReceived events carried none (Chrome reports the wire size in one or the other). Only http(s) requests:
    headless Chromium also loads its own chrome:// pages' resources (about 2 MB on a first load), which no
    server sent."""
    ws = 0
    per_request: dict[str, int] = {}
    finished: dict[str, int] = {}
    internal: set[str] = set()
    for entry in entries:
        try:
            msg = json.loads(entry["message"])["message"]
        except (KeyError, TypeError, ValueError):
            continue
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Network.webSocketFrameReceived":
            ws += ws_frame_bytes(params)
        elif method in ("Network.requestWillBeSent", "Network.responseReceived"):
            url = (params.get("request") or params.get("response") or {}).get("url", "")
            if url and not url.startswith(("http://", "https://")):
                internal.add(params.get("requestId", ""))
        elif method == "Network.dataReceived":
            rid = params.get("requestId", "")
            per_request[rid] = per_request.get(rid, 0) + int(params.get("encodedDataLength", 0) or 0)
        elif method == "Network.loadingFinished":
            finished[params.get("requestId", "")] = int(params.get("encodedDataLength", 0) or 0)
    http = sum(n for rid, n in per_request.items() if rid not in internal)
    http += sum(total for rid, total in finished.items() if per_request.get(rid, 0) == 0 and rid not in internal)
    return ws, http


def parse_ss(text: str) -> dict[str, int]:
    """`ss -tinH '( sport = :PORT )'` output -> {peer address: bytes the server side has sent and had acknowledged}.
    Each socket is a line with the addresses, then an indented line of TCP info (bytes_acked:N among it)."""
    out: dict[str, int] = {}
    peer = ""
    for line in text.splitlines():
        if line and not line[0].isspace():
            parts = line.split()
            peer = parts[-1] if len(parts) >= 2 else ""
        elif peer:
            for tok in line.split():
                if tok.startswith("bytes_acked:"):
                    out[peer] = int(tok.split(":", 1)[1])
    return out


class WireCounter:
    """Bytes a server port sent over TCP (what crossed the wire, compressed or not), from `ss`, polled: the
    largest bytes_acked seen per connection, less what connections open at the start had already sent."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.start = self._poll()
        self.seen: dict[str, int] = dict(self.start)

    def _poll(self) -> dict[str, int]:
        try:
            out = subprocess.run(["ss", "-tinH", f"( sport = :{self.port} )"], capture_output=True, text=True,
                                 timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            return {}
        return parse_ss(out)

    def sample(self) -> int:
        for peer, n in self._poll().items():
            self.seen[peer] = max(self.seen.get(peer, 0), n)
        return sum(self.seen.values()) - sum(self.start.values())


@dataclass
class StepRecord:
    step: int  # 0 = load /tour, 1..8 = the tour's steps
    seconds: float = float("nan")  # end-to-end, quiet period subtracted; nan when it did not finish
    error: str = ""  # "" | "exception" | "timeout" | "browser" | "not reached" | "no browser"
    ws_bytes: int = 0
    http_bytes: int = 0
    browser_cpu: float = float("nan")
    server_cpu: float = 0.0  # this step's share of the server's CPU
    t0: float = 0.0
    t1: float = 0.0


@dataclass
class Round:
    n: int
    steps: int
    records: list[StepRecord] = field(default_factory=list)
    server_cpu: float = 0.0
    browser_cpu: float = 0.0
    rss_before: float = 0.0
    rss_end: float = 0.0
    wall: float = 0.0
    wire_bytes: float = float("nan")  # TCP bytes the served port sent over the round (nan: not measured)
    proxy_cpu: float = 0.0  # CPU-seconds of the reverse proxy, when one served (also in server_cpu)


def step_name(i: int) -> str:
    if i == 0:
        return "load /tour"
    try:
        from app.tour import STEPS
        s = STEPS[i - 1]
        return f"{i}. {s.page or 'home'}: {s.title}"
    except Exception:  # noqa: BLE001 - a name only
        return f"step {i}"


def summarize(rnd: Round) -> dict[int, dict]:
    """Per step: p50/p95 end-to-end, errors, mean bytes, mean browser CPU, server CPU per walk."""
    out: dict[int, dict] = {}
    for i in range(rnd.steps + 1):
        recs = [r for r in rnd.records if r.step == i]
        ok = [r.seconds for r in recs if not r.error]
        out[i] = {
            "p50": percentile(ok, 50),
            "p95": percentile([r.seconds if not r.error else float("inf") for r in recs if r.error not in LOST], 95),
            "errors": sum(1 for r in recs if r.error),
            "kinds": sorted({r.error for r in recs if r.error}),
            "bytes": _mean([r.ws_bytes + r.http_bytes for r in recs if r.error not in LOST]),
            "ws": _mean([r.ws_bytes for r in recs if r.error not in LOST]),
            "browser_cpu": _mean([r.browser_cpu for r in recs if r.browser_cpu == r.browser_cpu]),
            "server_cpu": sum(r.server_cpu for r in recs) / (walks_done(rnd) or 1.0),
        }
    return out


def _mean(xs: list[float]) -> float:
    xs = [x for x in xs if x == x]
    return sum(xs) / len(xs) if xs else float("nan")


LOST = ("not reached", "no browser")


def walks_done(rnd: Round) -> float:
    """Walks' worth of pages served: pages a session opened (finished or not) / pages per walk. Equals N when
    every session walked the whole tour; smaller when browsers did not start or a walk stopped early."""
    served = sum(1 for r in rnd.records if r.error not in LOST)
    return served / (rnd.steps + 1)


def walk_totals(rnd: Round) -> dict:
    """Per walk (the load and the tour's steps): sums over steps of the per-step means; CPU per walk is the
    round's total over the walks' worth of pages actually served (= N when every session walked the tour)."""
    s = summarize(rnd)
    errors = sum(v["errors"] for v in s.values())
    walks = walks_done(rnd) or 1.0
    started = sum(1 for r in rnd.records if r.step == 0 and r.error != "no browser")
    return {
        "e2e_p50": sum(v["p50"] for k, v in s.items() if v["p50"] == v["p50"]),
        "bytes": sum(v["bytes"] for v in s.values() if v["bytes"] == v["bytes"]),
        "ws": sum(v["ws"] for v in s.values() if v["ws"] == v["ws"]),
        "wire": rnd.wire_bytes / walks,
        "browser_cpu": rnd.browser_cpu / walks,
        "server_cpu": rnd.server_cpu / walks,
        "errors": errors,
        "no_browser": sum(1 for r in rnd.records if r.step == 0 and r.error == "no browser"),
        "app_errors": sum(1 for r in rnd.records if r.error in ("exception", "timeout")),
        "walks": walks,
        "rss_end": rnd.rss_end,
        "rss_growth": (rnd.rss_end - rnd.rss_before) / max(1, started),
    }


def round_table(rnd: Round) -> str:
    s = summarize(rnd)
    rows = []
    for i, v in s.items():
        p95 = "timeout" if v["p95"] == float("inf") else fmt_s(v["p95"])
        err = str(v["errors"]) + (f" ({', '.join(v['kinds'])})" if v["kinds"] else "")
        both = f"{fmt_bytes(v['bytes'])} ({fmt_bytes(v['ws'])})"
        rows.append([step_name(i), fmt_s(v["p50"]), p95, err, both,
                     fmt_s(v["browser_cpu"], 2), fmt_s(v["server_cpu"], 2)])
    t = walk_totals(rnd)
    both = f"{fmt_bytes(t['bytes'])} ({fmt_bytes(t['ws'])})"
    rows.append(["**walk**", fmt_s(t["e2e_p50"]), "", str(t["errors"]), both,
                 fmt_s(t["browser_cpu"], 2), fmt_s(t["server_cpu"], 2)])
    header = ["step", "e2e p50 s", "e2e p95 s", "errors", "bytes to browser / session (of which WebSocket)",
              "browser CPU s / session", "server CPU s / walk"]
    return markdown_table(header, rows)


def summary_table(rounds: list[Round]) -> str:
    rows = []
    for rnd in rounds:
        t = walk_totals(rnd)
        recs = [r.seconds for r in rnd.records if r.step > 0]
        p95 = percentile([x if x == x else float("inf") for x in recs], 95) if recs else float("nan")
        rows.append([str(rnd.n), fmt_s(rnd.wall, 0), fmt_s(percentile([x for x in recs if x == x], 50)),
                     "timeout" if p95 == float("inf") else fmt_s(p95), str(t["errors"]),
                     fmt_s(t["server_cpu"], 2), fmt_s(t["browser_cpu"], 2),
                     f"{fmt_bytes(t['bytes'])} ({fmt_bytes(t['ws'])})", fmt_bytes(t["wire"]),
                     f"{rnd.rss_before / 1e6:.0f} → {rnd.rss_end / 1e6:.0f}",
                     f"{t['rss_growth'] / 1e6:.1f}"])
    header = ["N", "round wall s", "step e2e p50 s", "step e2e p95 s", "errors", "server CPU s / walk",
              "browser CPU s / walk", "bytes / walk (WebSocket)", "on the wire / walk", "server RSS MB (before → end)",
              "RSS growth MB / session"]
    return markdown_table(header, rows)


# ----------------------------------------------------------------------------------------- processes and CPU
class CpuTracker:
    """CPU-seconds (user + system) of a changing set of processes, remembering those that have exited."""

    def __init__(self) -> None:
        self.last: dict[tuple[int, float], float] = {}
        self.lock = threading.Lock()

    def sample(self, procs) -> float:
        import psutil
        with self.lock:
            for p in procs:
                try:
                    t = p.cpu_times()
                    self.last[(p.pid, p.create_time())] = t.user + t.system
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    pass
            return sum(self.last.values())


def chromium_procs(driver_pid: int) -> list:
    """The Chromium processes under one chromedriver service (not chromedriver itself)."""
    import psutil
    try:
        return psutil.Process(driver_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def kill_tree(pid: int, known: set[int] | None = None) -> None:
    """Terminate a process and its descendants (and any pids we saw under it before), then kill leftovers."""
    import psutil
    procs = []
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        pass
    seen = {p.pid for p in procs}
    for other in known or ():
        if other not in seen:
            try:
                procs.append(psutil.Process(other))
            except psutil.NoSuchProcess:
                pass
    for p in procs:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=5)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass


def start_server(port: int, app_dir: Path = ROOT, figures: str = "all") -> subprocess.Popen:
    """`streamlit run app/streamlit_app.py` in app_dir (the repository, or a frozen copy of it), headless, with
    no file watcher: a class's server does not reload when someone edits the code during a run. figures="none"
    serves it through bench/classroom_no_figures.py (every figure left out: the floor measurement); "charts"
    leaves out only the figures that are images (as if they were free)."""
    script = [str(app_dir / "app" / "streamlit_app.py")]
    if figures != "all":
        script = [str(ROOT / "bench" / "classroom_no_figures.py"), "--", *script, figures]
    cmd = [sys.executable, "-m", "streamlit", "run", script[0],
           "--server.headless", "true", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", *script[1:]]
    env = {**os.environ, "PYTHONPATH": str(app_dir)}
    log = open(tempfile.mktemp(prefix="classroom-server-", suffix=".log"), "w")  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=app_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    proc.log_path = log.name  # type: ignore[attr-defined]
    wait_healthy(f"http://127.0.0.1:{port}", proc, timeout=90, log=lambda: Path(log.name).read_text())
    return proc


def start_proxy(listen: int, upstream: int) -> subprocess.Popen:
    """Debian's nginx with deploy/nginx-classroom.conf (gzip, WebSocket pass-through) on `listen`, forwarding to
    the Streamlit server on `upstream`; its files (pid, logs, temp) in a fresh folder."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise RuntimeError("--proxy nginx needs nginx (apt-get install nginx-light)")
    prefix = Path(tempfile.mkdtemp(prefix="classroom-nginx-"))
    conf = (ROOT / "deploy" / "nginx-classroom.conf").read_text()
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{listen};")
    conf = conf.replace("127.0.0.1:8501", f"127.0.0.1:{upstream}")
    (prefix / "nginx.conf").write_text(conf)
    user = f"user {getpass.getuser()};"  # as README runs it: workers that may enter the (0700) prefix folder
    proc = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", f"daemon off; {user}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    wait_healthy(f"http://127.0.0.1:{listen}", proc, timeout=30,
                 log=lambda: (prefix / "error.log").read_text() if (prefix / "error.log").exists() else "")
    return proc


# -------------------------------------------------------------------------------------------------- sessions
class Bench:
    def __init__(self, url: str, server_pid: int, steps: int, step_timeout: float, round_timeout: float,
                 wire_port: int = 0, proxy_pid: int = 0):
        import psutil
        self.url, self.steps = url, steps
        self.server = psutil.Process(server_pid)
        self.wire_port = wire_port  # the port the browsers talk to: Streamlit's, or the proxy's
        self.proxy = psutil.Process(proxy_pid) if proxy_pid else None
        self.step_timeout, self.round_timeout = step_timeout, round_timeout
        self.driver_pids: set[int] = set()
        self.chromium_pids: set[int] = set()
        self.lock = threading.Lock()
        self.active: dict[int, StepRecord] = {}  # session -> its current step (for the server's CPU shares)
        self.stop = threading.Event()
        self.debug_dir = ""
        self.n = 0

    def server_cpu(self) -> float:
        t = self.server.cpu_times()
        return t.user + t.system + t.children_user + t.children_system + self.proxy_cpu()

    def proxy_cpu(self) -> float:
        """CPU-seconds of the reverse proxy's processes (master and workers), 0 without one."""
        if self.proxy is None:
            return 0.0
        import psutil
        total = 0.0
        for p in [self.proxy, *self.proxy.children(recursive=True)]:
            try:
                t = p.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):  # a worker that exited, or one not ours to read
                continue
            total += t.user + t.system
        return total

    # one browser
    def make_driver(self, profile: str):
        from tests.browser_util import make_driver
        driver = make_driver(profile, performance_log=True)
        service = driver.service
        with self.lock:
            self.driver_pids.add(service.process.pid)
        return driver, service.process.pid

    def walk(self, sid: int, records: list[StepRecord], deadline: float) -> None:
        """One student: load /tour, Start, Next … ; appends one StepRecord per step (all steps, always)."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.by import By

        from tests.browser_util import wait_for_app

        profile = tempfile.mkdtemp(prefix="classroom-chromium-")
        tracker = CpuTracker()
        driver = None
        done = 0
        try:
            driver, dpid = self.make_driver(profile)
            driver.set_page_load_timeout(self.step_timeout)

            def cpu() -> float:
                procs = chromium_procs(dpid)
                with self.lock:
                    self.chromium_pids.update(p.pid for p in procs)
                return tracker.sample(procs)

            for i in range(self.steps + 1):
                if self.stop.is_set() or time.time() > deadline:
                    break
                rec = StepRecord(step=i)
                c0 = cpu()
                driver.get_log("performance")  # drop what came before this step
                rec.t0 = time.time()
                with self.lock:
                    self.active[sid] = rec
                try:
                    if i == 0:
                        driver.get(f"{self.url}/tour")
                        marker = "Start the tour"
                    else:
                        driver.find_element(By.CSS_SELECTOR, step_button(i)).click()
                        marker = step_marker(i)
                    wait_for_text(driver, marker, timeout=max(1.0, rec.t0 + self.step_timeout - time.time()))
                    left = max(5.0, rec.t0 + self.step_timeout - time.time())
                    wait_for_app(driver, timeout=left, quiet_for=QUIET)
                    rec.t1 = time.time() - QUIET
                    rec.seconds = rec.t1 - rec.t0
                    if driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]'):
                        rec.error = "exception"
                except TimeoutError:
                    rec.error, rec.t1 = "timeout", time.time()
                    self._keep_evidence(driver, sid, i)
                except WebDriverException as e:
                    rec.error, rec.t1 = "browser", time.time()
                    print(f"  session {sid} step {i}: {type(e).__name__}: {str(e).splitlines()[0][:160]}",
                          flush=True)
                finally:
                    with self.lock:
                        self.active.pop(sid, None)
                try:
                    rec.ws_bytes, rec.http_bytes = bytes_from_log(driver.get_log("performance"))
                    rec.browser_cpu = cpu() - c0
                except WebDriverException:
                    pass
                records.append(rec)
                done = i + 1
                if rec.error in ("timeout", "browser"):
                    break  # the page is in an unknown state: the rest of this walk is not reached
        except Exception as e:  # noqa: BLE001 - a browser that would not start is an error of this session
            print(f"  session {sid}: {type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}",
                  flush=True)
        finally:
            lost = "not reached" if driver is not None else "no browser"
            for i in range(done, self.steps + 1):
                records.append(StepRecord(step=i, error=lost))
            if driver is not None:
                try:
                    driver.quit()
                except Exception:  # noqa: BLE001
                    pass
            shutil.rmtree(profile, ignore_errors=True)

    def _keep_evidence(self, driver, sid: int, step: int) -> None:
        """With --debug-dir: a screenshot and the page's text of a step that timed out."""
        if not self.debug_dir:
            return
        try:
            from selenium.webdriver.common.by import By
            stem = Path(self.debug_dir) / f"n{self.n}-s{sid}-step{step}"
            driver.save_screenshot(f"{stem}.png")
            status = [e.text for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')]
            body = driver.find_element(By.TAG_NAME, "body").text
            Path(f"{stem}.txt").write_text(f"status widget: {status}\n\n{body}")
        except Exception:  # noqa: BLE001 - evidence only
            pass

    def run_round(self, n: int, stagger: float) -> Round:
        rnd = Round(n=n, steps=self.steps)
        self.n = n
        per_session: list[list[StepRecord]] = [[] for _ in range(n)]
        rnd.rss_before = self.server.memory_info().rss
        cpu0, proxy0 = self.server_cpu(), self.proxy_cpu()
        wire = WireCounter(self.wire_port) if self.wire_port else None
        browser_tracker = CpuTracker()
        self.stop.clear()
        t_start = time.time()
        deadline = t_start + self.round_timeout
        threads = []
        for sid in range(n):
            th = threading.Thread(target=self.walk, args=(sid, per_session[sid], deadline), daemon=True)
            th.start()
            threads.append(th)
            time.sleep(stagger)
        last = cpu0
        shares: dict[int, float] = {}  # id(record) -> server CPU
        recs_by_id: dict[int, StepRecord] = {}
        while any(th.is_alive() for th in threads):
            time.sleep(SLICE)
            now = self.server_cpu()
            with self.lock:
                busy = list(self.active.values())
                dpids = list(self.driver_pids)
            if busy:
                for r in busy:
                    shares[id(r)] = shares.get(id(r), 0.0) + (now - last) / len(busy)
                    recs_by_id[id(r)] = r
            last = now
            browser_tracker.sample([p for d in dpids for p in chromium_procs(d)])
            if wire is not None:
                wire.sample()
            if n > 1 and time.time() > deadline + 60:
                self.stop.set()
            if time.time() > deadline + self.step_timeout + 120:
                print("  round overran: abandoning the sessions still running", flush=True)
                break
            rnd.rss_end = max(rnd.rss_end, self.server.memory_info().rss)  # the largest seen, sessions open
        rnd.rss_end = max(rnd.rss_end, self.server.memory_info().rss)
        rnd.wall = time.time() - t_start
        rnd.server_cpu = self.server_cpu() - cpu0
        rnd.proxy_cpu = self.proxy_cpu() - proxy0
        if wire is not None:
            rnd.wire_bytes = wire.sample()
        rnd.browser_cpu = browser_tracker.sample([])
        for recs in per_session:
            for r in recs:
                r.server_cpu = shares.get(id(r), 0.0)
            rnd.records.extend(recs)
        return rnd


# ------------------------------------------------------------------------------------------------------ main
def report(rounds: list[Round], warm: Round | None, args, load: tuple[float, float, float], command: str) -> str:
    parts = [f"Machine: {os.cpu_count()} CPU cores, {platform.platform()}, Python {platform.python_version()}; "
             f"load average at start {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min). "
             f"Command: `{command}`. Label: **{args.label}**. App served from `{args.app_dir}`.", ""]
    if warm is not None:
        t = walk_totals(warm)
        cold = sum(r.seconds for r in warm.records if r.seconds == r.seconds)
        parts += [f"Warm-up walk (cold caches, not counted): {fmt_s(cold)} s "
                  f"end to end, server CPU {t['server_cpu']:.1f} s, errors {t['errors']}.", ""]
    parts += [summary_table(rounds), ""]
    for rnd in rounds:
        parts += [f"Per step, N = {rnd.n} (p50/p95 over sessions; bytes and browser CPU: mean per session; "
                  f"server CPU: its share per walk)", "", round_table(rnd), ""]
    return "\n".join(parts)


def load_run(path: str) -> tuple[dict, list[Round]]:
    """A run saved with --json: its metadata and its rounds."""
    raw = json.loads(Path(path).read_text())
    rounds = []
    for r in raw["rounds"]:
        recs = [StepRecord(**rec) for rec in r["records"]]
        per = max(rec.step for rec in recs) + 1
        for k in range(0, len(recs), per):  # older runs: a session whose browser never started
            if recs[k].step == 0 and recs[k].error == "not reached":
                for rec in recs[k:k + per]:
                    rec.error = "no browser"
        rounds.append(Round(n=r["n"], steps=max(rec.step for rec in recs), records=recs, server_cpu=r["server_cpu"],
                            browser_cpu=r["browser_cpu"], rss_before=r["rss_before"], rss_end=r["rss_end"],
                            wall=r["wall"], wire_bytes=r.get("wire_bytes", float("nan")),
                            proxy_cpu=r.get("proxy_cpu", 0.0)))
    return raw, rounds


def _met(ok: bool | None) -> str:
    return "–" if ok is None else ("yes" if ok else "**no**")


def ratio(after: float, before: float) -> str:
    return "–" if not before or after != after or before != before else f"{after / before:.2f}×"


def err_text(t: dict | None) -> str:
    """Errors of a round: all, then how many were the app's (exception boxes, timeouts) and how many sessions'
    browsers never started (the load generator's limit on 2 cores, not the app's)."""
    if not t:
        return "–"
    return (f"{t['errors']} (app: {t['app_errors']}; browsers that did not start: {t['no_browser']}, their "
            f"{t['no_browser'] * 9} steps counted)" if t["errors"] else "0")


def targets_table(before: list[Round], after: list[Round], baseline_server_cpu: float = 3.5) -> str:
    """The issue's targets: target / before / after / met?"""
    tb = {r.n: walk_totals(r) for r in before}
    ta = {r.n: walk_totals(r) for r in after}
    n_max = max(ta)
    rows = []
    rows.append([f"zero errors at N = {n_max}", err_text(tb.get(n_max)), err_text(ta[n_max]),
                 _met(ta[n_max]["errors"] == 0)])
    cpu_a = [ta[n]["server_cpu"] for n in sorted(ta)]
    cpu_b = [tb[n]["server_cpu"] for n in sorted(tb)]
    flat = max(cpu_a) <= 1.5 * min(cpu_a)
    rows.append(["server CPU per walk flat in N (max ≤ 1.5 × min)", " / ".join(f"{c:.2f}" for c in cpu_b),
                 " / ".join(f"{c:.2f}" for c in cpu_a), _met(flat)])
    half = baseline_server_cpu / 2
    rows.append([f"server CPU per walk ≤ half of the issue's {baseline_server_cpu:g} s (≤ {half:.2f} s), at every N",
                 f"{max(cpu_b):.2f} (max)", f"{max(cpu_a):.2f} (max)", _met(max(cpu_a) <= half)])
    rows.append(["server CPU per walk ≤ half of our measured before (same N)", "",
                 " / ".join(ratio(ta[n]["server_cpu"], tb[n]["server_cpu"]) for n in sorted(ta) if n in tb),
                 _met(all(ta[n]["server_cpu"] <= tb[n]["server_cpu"] / 2 for n in ta if n in tb))])
    growth_a = max(ta[n]["rss_growth"] for n in ta) / 1e6
    growth_b = max(tb[n]["rss_growth"] for n in tb) / 1e6 if tb else float("nan")
    rows.append(["server memory growth per extra session ≤ 50 MB (max over N)", f"{growth_b:.1f} MB",
                 f"{growth_a:.1f} MB", _met(growth_a <= 50)])
    for key, name in (("wire", "bytes on the wire to each browser per walk (TCP, compressed where it is)"),
                      ("bytes", "bytes per walk in Chrome's log (HTTP as received, WebSocket decoded)"),
                      ("ws", "bytes per walk, app data only (WebSocket, decoded)"),
                      ("browser_cpu", "browser CPU-seconds per walk")):
        common = [n for n in sorted(ta) if n in tb]
        fmt = fmt_bytes if key != "browser_cpu" else (lambda x: f"{x:.1f} s")
        pairs = [(tb[n][key], ta[n][key]) for n in common]
        measured = all(b == b and a == a for b, a in pairs)  # an older run has no wire bytes (nan)
        rows.append([f"{name} ≤ half of before",
                     " / ".join(fmt(b) for b, _ in pairs), " / ".join(fmt(a) for _, a in pairs),
                     _met(all(a <= b / 2 for b, a in pairs)) if measured else "– (not measured in both)"])
    return markdown_table(["target", "before", "after", "met?"], rows)


def compare_tables(before: list[Round], after: list[Round]) -> str:
    """Per N and per step (at the smallest and largest N): before and after side by side."""
    tb = {r.n: r for r in before}
    rows = []
    for ra in after:
        rb = tb.get(ra.n)
        a = walk_totals(ra)
        b = walk_totals(rb) if rb else None

        def both(key, f, a=a, b=b):
            return f"{f(b[key]) if b else '–'} → {f(a[key])}"

        def p(rnd, q):
            if rnd is None:
                return "–"
            xs = [x.seconds if not x.error else float("inf") for x in rnd.records
                  if x.step > 0 and x.error not in LOST]
            v = percentile(xs, q)
            return "timeout" if v == float("inf") else fmt_s(v)

        rows.append([str(ra.n), f"{p(rb, 50)} → {p(ra, 50)}", f"{p(rb, 95)} → {p(ra, 95)}",
                     f"{err_text(b)} → {err_text(a)}", both("server_cpu", lambda x: f"{x:.2f}"),
                     both("browser_cpu", lambda x: f"{x:.1f}"), both("wire", fmt_bytes), both("bytes", fmt_bytes),
                     both("ws", fmt_bytes),
                     both("rss_end", lambda x: f"{x / 1e6:.0f}"), both("rss_growth", lambda x: f"{x / 1e6:.1f}")])
    header = ["N", "step e2e p50 s", "step e2e p95 s", "errors", "server CPU s / walk", "browser CPU s / walk",
              "on the wire / walk", "Chrome's log / walk", "of which WebSocket (decoded)", "server RSS MB at end",
              "RSS growth MB / session"]
    out = [markdown_table(header, rows)]
    for n in sorted({min(r.n for r in after), max(r.n for r in after)}):
        ra, rb = next(r for r in after if r.n == n), tb.get(n)
        sa, sb = summarize(ra), summarize(rb) if rb else {}
        rows = []
        for i, va in sa.items():
            vb = sb.get(i)

            def two(key, f, va=va, vb=vb):
                return f"{f(vb[key]) if vb else '–'} → {f(va[key])}"

            def p95(v):
                return "timeout" if v == float("inf") else fmt_s(v)

            rows.append([step_name(i), two("p50", fmt_s), two("p95", p95), two("errors", str),
                         two("bytes", fmt_bytes), two("ws", fmt_bytes), two("browser_cpu", lambda x: fmt_s(x, 2)),
                         two("server_cpu", lambda x: fmt_s(x, 2))])
        out += ["", f"Per step at N = {n}, before → after (p50/p95 over sessions; bytes and browser CPU: mean per "
                    "session; server CPU: its share per walk):", "",
                markdown_table(["step", "e2e p50 s", "e2e p95 s", "errors", "bytes", "of which WebSocket",
                                "browser CPU s", "server CPU s"], rows)]
    return "\n".join(out)


def _describe(name: str, m: dict) -> str:
    load = m.get("load", [float("nan")] * 3)
    machine = m.get("machine", f"{os.cpu_count()} CPU cores")
    return (f"- **{name}**: `{m.get('command', '')}`; machine {machine}; load average at start {load[0]:.2f} / "
            f"{load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min; the machine is shared with other work, so times are "
            "noisy).")


def compare_report(before_path: str, after_path: str, what: str = "", also: list[str] | None = None,
                   repeats: list[str] | None = None) -> str:
    """The section of bench/results.md: how each run was made, the targets, before → after tables; each run in
    `also` (e.g. the same commit served without the proxy) gets its own targets table against the same before."""
    mb, before = load_run(before_path)
    ma, after = load_run(after_path)
    extra = [(p, *load_run(p)) for p in also or []]
    lines = ["N concurrent headless-Chromium sessions (one Chromium, fresh profile each, started 1 s apart) walk the "
             "guided tour (open /tour, *Start the tour*, then *Next ▶* to step 8) against one `streamlit run` "
             "server (file watcher off; behind nginx with --proxy nginx), after one untimed warm-up walk that "
             "fills the server's caches. "
             "End-to-end: click → the step's bar drawn and no script running (the 2 s quiet period subtracted). "
             "Bytes on the wire: what the served port (Streamlit's, or the proxy's) sent over TCP, read from its "
             "sockets with `ss`, compressed where it was. Chrome's log: its performance log (WebSocket "
             "frames decoded + HTTP bodies as received, Chromium's own chrome:// resources left out); most of the "
             "HTTP part is Streamlit's own JavaScript, fetched once per fresh profile. Browser CPU: all Chromium "
             "processes under each chromedriver. Server CPU: user + system of the streamlit process (and of nginx, "
             "when it served) over the round, per walk = total / the walks' worth of pages served (= N when every "
             "session walked the whole tour). RSS growth per session: (largest RSS during the round, sessions "
             "open − RSS before it) / sessions whose browser started. A session whose Chromium did not start "
             "within selenium's 120 s counts all its 9 steps as errors (kind 'no browser'); that is the load "
             "generator running out of CPU, not the app failing. Each run serves a frozen `git archive` copy of a "
             "commit, so edits made during the runs reach neither. " + what, ""]
    lines += [_describe("before", mb), _describe("after", ma)]
    lines += [_describe(m.get("label") or Path(p).stem, m) for p, m, _ in extra]
    lines += ["", "Targets (issue 12, item 9):", "", targets_table(before, after), "",
              "Before → after:", "", compare_tables(before, after)]
    for p, m, rounds in extra:
        lines += ["", f"Also measured, **{m.get('label') or Path(p).stem}** against the same before:", "",
                  targets_table(before, rounds), "", summary_table(rounds)]
    if repeats:
        lines += ["", "Repeated one-student rounds of runs made in turn (their order is given above); each row lists "
                  "its rounds in the order they ran:",
                  "", repeats_table(repeats)]
    return "\n".join(lines)


def served(meta: dict) -> str:
    """What a run served, from its own record (not its free-form label): the snapshot's folder name without
    "snap-" (a commit, or "before"), behind nginx or not, with figures or not."""
    name = Path(meta.get("app_dir", "")).name.removeprefix("snap-") or "?"
    figures = {"none": ["no figures"], "charts": ["no image figures"]}.get(meta.get("figures", "all"), [])
    return ", ".join([name, *figures, *(["nginx"] if meta.get("proxy") == "nginx" else [])])


def repeats_table(paths: list[str]) -> str:
    """Runs of the same two commits made back to back (e.g. before, after, before, after, each --sessions 1,1):
    per label, every round's browser and server CPU per walk and their medians, so that the machine's drift
    between runs shows instead of hiding in one pair of numbers."""
    by_label: dict[str, list[dict]] = {}
    for path in paths:
        meta, rounds = load_run(path)
        by_label.setdefault(served(meta), []).extend(walk_totals(r) for r in rounds)
    rows = []
    for label, totals in by_label.items():
        browser = [t["browser_cpu"] for t in totals]
        server = [t["server_cpu"] for t in totals]
        rows.append([label, str(len(totals)), ", ".join(f"{x:.1f}" for x in browser), f"{percentile(browser, 50):.1f}",
                     ", ".join(f"{x:.2f}" for x in server), f"{percentile(server, 50):.2f}"])
    header = ["run", "rounds", "browser CPU s / walk, each round", "median", "server CPU s / walk, each round",
              "median"]
    return markdown_table(header, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", default="1,5,10,15", help="comma-separated N (default 1,5,10,15)")
    parser.add_argument("--steps", type=int, default=N_TOUR_STEPS, help="tour steps to walk (default all 8)")
    parser.add_argument("--stagger", type=float, default=1.0, help="seconds between session starts")
    parser.add_argument("--step-timeout", type=float, default=STEP_TIMEOUT)
    parser.add_argument("--round-timeout", type=float, default=900.0,
                        help="seconds after which a round's sessions stop starting new steps")
    parser.add_argument("--no-warmup", action="store_true")
    parser.add_argument("--app-dir", default=str(ROOT),
                        help="serve the app from this copy of the repository (default: this one), e.g. a "
                             "`git archive HEAD` snapshot, so edits made during a run do not reach the server")
    parser.add_argument("--proxy", choices=("none", "nginx"), default="none",
                        help="browsers reach the server through nginx with deploy/nginx-classroom.conf (gzip)")
    parser.add_argument("--figures", choices=("all", "none", "charts"), default="all",
                        help="none: every figure left out (bench/classroom_no_figures.py), the framework's floor; "
                             "charts: only the figures that are images left out")
    parser.add_argument("--label", default="", help="a name for this run (e.g. before / after)")
    parser.add_argument("--json", default="", help="also save the raw records here")
    parser.add_argument("--debug-dir", default="", help="save a screenshot and the text of a step that timed out")
    parser.add_argument("--write", action="store_true", help="record the section 'classroom' in bench/results.md")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE_JSON", "AFTER_JSON"),
                        help="no run: the before/after section from two runs saved with --json")
    parser.add_argument("--also", nargs="*", default=[], metavar="JSON",
                        help="with --compare: more runs, each with its own targets table against BEFORE")
    parser.add_argument("--repeats", nargs="*", default=[], metavar="JSON",
                        help="with --compare: runs of the two commits made alternately, tabled round by round")
    parser.add_argument("--what", default="", help="with --compare: which commits the two runs served, and why "
                                                   "they differ (a sentence for the section)")
    args = parser.parse_args(argv)
    if args.compare:
        text = compare_report(*args.compare, what=args.what, also=args.also, repeats=args.repeats)
        print(text)
        if args.write:
            from bench.sections import write_section
            write_section("classroom", text)
        return 0
    from app.tour import STEPS
    assert len(STEPS) == N_TOUR_STEPS, "app/tour.py changed its number of steps"
    sessions = parse_sessions(args.sessions)
    steps = max(1, min(N_TOUR_STEPS, args.steps))
    load = os.getloadavg()
    command = " ".join([".venv/bin/python -m bench.classroom", *(argv if argv is not None else sys.argv[1:])])
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; sessions {sessions}; steps {steps}", flush=True)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    server = None
    proxy = None
    bench = None
    rounds: list[Round] = []
    warm = None
    try:
        port = free_port()
        server = start_server(port, Path(args.app_dir).resolve(), figures=args.figures)
        served = port
        if args.proxy == "nginx":
            served = free_port()
            proxy = start_proxy(served, port)
        bench = Bench(f"http://127.0.0.1:{served}", server.pid, steps, args.step_timeout, args.round_timeout,
                      wire_port=served, proxy_pid=proxy.pid if proxy else 0)
        if args.debug_dir:
            os.makedirs(args.debug_dir, exist_ok=True)
            bench.debug_dir = args.debug_dir
        if not args.no_warmup:
            t = time.time()
            warm = bench.run_round(1, 0)
            print(f"warm-up walk: {time.time() - t:.0f} s, errors {walk_totals(warm)['errors']}", flush=True)
        for n in sessions:
            print(f"round N = {n} (load {os.getloadavg()[0]:.2f})", flush=True)
            rnd = bench.run_round(n, args.stagger)
            rounds.append(rnd)
            t = walk_totals(rnd)
            print(f"  N = {n}: {rnd.wall:.0f} s, errors {t['errors']}, server CPU/walk {t['server_cpu']:.2f} s, "
                  f"browser CPU/walk {t['browser_cpu']:.2f} s, bytes/walk {fmt_bytes(t['bytes'])} "
                  f"(on the wire {fmt_bytes(t['wire'])}), proxy CPU/walk {rnd.proxy_cpu / (t['walks'] or 1):.2f} s, "
                  f"RSS {rnd.rss_before / 1e6:.0f} -> {rnd.rss_end / 1e6:.0f} MB", flush=True)
            print(round_table(rnd), flush=True)
    except KeyboardInterrupt:
        print("interrupted: cleaning up", flush=True)
    finally:
        if bench is not None:
            bench.stop.set()
            for pid in list(bench.driver_pids):
                kill_tree(pid, bench.chromium_pids)
        for proc in (proxy, server):
            if proc is None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    if not rounds:
        return 1
    text = report(rounds, warm, args, load, command)
    print(text)
    if args.json:
        raw = {"label": args.label, "proxy": args.proxy, "figures": args.figures, "load": load, "command": command,
               "app_dir": args.app_dir,
               "machine": f"{os.cpu_count()} CPU cores, {platform.platform()}",
               "warmup": None if warm is None else {"server_cpu": warm.server_cpu,
                                                    "errors": walk_totals(warm)["errors"]},
               "rounds": [{"n": r.n, "wall": r.wall, "server_cpu": r.server_cpu, "browser_cpu": r.browser_cpu,
                           "rss_before": r.rss_before, "rss_end": r.rss_end, "wire_bytes": r.wire_bytes,
                           "proxy_cpu": r.proxy_cpu, "records": [r2.__dict__ for r2 in r.records]} for r in rounds]}
        Path(args.json).write_text(json.dumps(raw, indent=1))
    if args.write:
        from bench.sections import write_section
        write_section("classroom", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
