"""Where a student's browser spends its CPU on a guided-tour walk: the evidence behind the classroom section's
"not met" for browser CPU (bench/results.md, section "browser_profile").

    .venv/bin/python -m bench.browser_profile --walks 3 --write
    .venv/bin/python -m bench.browser_profile --app-dir SNAPSHOT --before-dir OLD_SNAPSHOT --walks 3 --write

For each run (the app as it is; the app with every figure left out, bench/classroom_no_figures.py; with
--charts, the app with only its image figures left out; with --before-dir, an older commit's app as well), one
`streamlit run` server (file watcher off), one untimed warm-up walk, then:
- `--walks` walks whose Chromium CPU-seconds are split by process type and thread (Linux's per-thread times:
  the renderer's main thread runs the page's JavaScript, style, layout and paint; its pool threads raster and
  compile; the GPU process composites in software here), with the page load (/tour) apart from the 8 steps;
- `--walks` more walks under DevTools' sampling profiler (one profile per step, the page load left out), whose
  main-thread JavaScript time is split by the script it ran in: Plotly's chunk, Streamlit's own scripts
  (React, its widgets, markdown), or native work the profiler sees no script for (layout forced from script,
  garbage collection, DOM calls). The profiler costs the page some CPU, so those walks are not timed.
No performance log is kept (unlike bench/classroom.py, whose byte counts need it), so these walks cost the
browser a little less than the classroom's.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

from bench.classroom import N_TOUR_STEPS as N_STEPS
from bench.classroom import chromium_procs, kill_tree, percentile, start_server, step_button, step_marker
from bench.sections import markdown_table

ROOT = Path(__file__).resolve().parent.parent
SCRIPT_KINDS = ("Plotly", "Streamlit", "native")


def script_kind(url: str, function: str) -> str | None:
    """The bucket of one profiler sample's frame; None for idle time (nothing running)."""
    if function == "(idle)":
        return None
    name = url.rsplit("/", 1)[-1]
    if not name:
        return "native"  # (program), (garbage collector), getBoundingClientRect, setAttribute, …
    return "Plotly" if name.startswith("PlotlyChart") else "Streamlit"


def js_split(profile: dict) -> dict[str, float]:
    """Seconds of main-thread time per bucket from a DevTools Profiler.stop profile (self time of the sampled
    frame; each sample lasts until the next one)."""
    nodes = {n["id"]: n["callFrame"] for n in profile["nodes"]}
    deltas = list(profile.get("timeDeltas", []))
    out = dict.fromkeys(SCRIPT_KINDS, 0.0)
    for sample, dt in zip(profile.get("samples", []), deltas[1:] + [0], strict=False):
        frame = nodes[sample]
        kind = script_kind(frame.get("url", ""), frame.get("functionName", ""))
        if kind is not None:
            out[kind] += dt / 1e6
    return out


def thread_bucket(process_type: str, thread_name: str) -> str:
    """A readable bucket for one Chromium thread (names as /proc/…/comm gives them, digits dropped)."""
    name = thread_name.rstrip("0123456789")
    if process_type == "renderer":
        if name in ("chromium", "chrome"):
            return "renderer main thread"
        if name.startswith("ThreadPool"):
            return "renderer pool (raster, compile)"
        return "renderer other"
    if process_type == "gpu-process":
        return "GPU process (compositing)"
    return "browser and other processes"


def thread_times(driver_pid: int) -> collections.Counter:
    """CPU-seconds so far of every thread of the Chromium processes under one chromedriver, by bucket."""
    import psutil
    out: collections.Counter = collections.Counter()
    for proc in chromium_procs(driver_pid):
        try:
            ptype = next((a.split("=", 1)[1] for a in proc.cmdline() if a.startswith("--type=")), "browser")
            for th in proc.threads():
                try:
                    comm = Path(f"/proc/{proc.pid}/task/{th.id}/comm").read_text().strip()
                except OSError:  # the thread ended
                    comm = ""
                out[thread_bucket(ptype, comm)] += th.user_time + th.system_time
        except psutil.Error:
            continue
    return out


def _click_step(driver, i: int) -> None:
    from selenium.webdriver.common.by import By

    from tests.browser_util import wait_for_app, wait_for_text
    driver.find_element(By.CSS_SELECTOR, step_button(i)).click()
    wait_for_text(driver, step_marker(i), timeout=300)
    wait_for_app(driver, timeout=300)


def _load(driver, url: str) -> None:
    from tests.browser_util import wait_for_app, wait_for_text
    driver.get(f"{url}/tour")
    wait_for_text(driver, "Start the tour", timeout=300)
    wait_for_app(driver, timeout=300)


def _with_driver(fn):
    from tests.browser_util import make_driver
    profile = tempfile.mkdtemp(prefix="profile-chromium-")
    driver = make_driver(profile)
    try:
        return fn(driver)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def timed_walk(url: str) -> dict[str, collections.Counter]:
    """CPU by thread bucket: the page load, and the eight steps."""
    def run(driver):
        pid = driver.service.process.pid
        t0 = thread_times(pid)
        _load(driver, url)
        t1 = thread_times(pid)
        for i in range(1, N_STEPS + 1):
            _click_step(driver, i)
        t2 = thread_times(pid)
        return {"load": t1 - t0, "steps": t2 - t1}
    return _with_driver(run)


def profiled_walk(url: str) -> list[dict[str, float]]:
    """Main-thread JavaScript per step, by script kind."""
    def run(driver):
        _load(driver, url)
        driver.execute_cdp_cmd("Profiler.enable", {})
        driver.execute_cdp_cmd("Profiler.setSamplingInterval", {"interval": 200})  # µs
        steps = []
        for i in range(1, N_STEPS + 1):
            driver.execute_cdp_cmd("Profiler.start", {})
            _click_step(driver, i)
            steps.append(js_split(driver.execute_cdp_cmd("Profiler.stop", {})["profile"]))
        return steps
    return _with_driver(run)


def measure(apps: dict[str, tuple[Path, str]], walks: int) -> dict[str, dict]:
    """apps: label -> (app dir, which figures: "all", "charts" or "none", as bench.classroom.start_server takes).
    One server each, all up at once; the walks of the runs alternate (this machine's speed drifts between
    minutes, so a run measured after another would not compare)."""
    from tests.browser_util import free_port
    servers, urls = [], {}
    try:
        for label, (app_dir, figures) in apps.items():
            port = free_port()
            servers.append(start_server(port, app_dir, figures=figures))
            urls[label] = f"http://127.0.0.1:{port}"
            timed_walk(urls[label])  # warm-up: fills this server's caches
        runs: dict[str, dict] = {label: {"timed": [], "profiled": []} for label in apps}
        for _ in range(walks):
            for label, url in urls.items():
                runs[label]["timed"].append(timed_walk(url))
        for _ in range(walks):
            for label, url in urls.items():
                runs[label]["profiled"].append(profiled_walk(url))
        return runs
    finally:
        for server in servers:
            kill_tree(server.pid)


def _median(values) -> float:
    return percentile(list(values), 50)


def threads_table(runs: dict[str, dict]) -> str:
    """Median CPU-seconds per walk by thread bucket, page load and steps apart, one column pair per run."""
    buckets = sorted({b for r in runs.values() for w in r["timed"] for part in w.values() for b in part},
                     key=lambda b: -_median(w["steps"][b] for w in next(iter(runs.values()))["timed"]))
    header = ["thread"] + [f"{label}: {part}" for label in runs for part in ("load /tour", "8 steps")]
    rows = []
    for b in [*buckets, "all"]:
        row = [b]
        for r in runs.values():
            for part in ("load", "steps"):
                row.append(f"{_median(sum(w[part].values()) if b == 'all' else w[part][b] for w in r['timed']):.2f}")
        rows.append(row)
    return markdown_table(header, rows)


def js_table(runs: dict[str, dict]) -> str:
    """Median main-thread JavaScript seconds per step by script kind, one column group per run."""
    header = ["step"] + [f"{label}: {k}" for label in runs for k in SCRIPT_KINDS]
    rows = []
    for i in range(N_STEPS):
        row = [str(i + 1)]
        for r in runs.values():
            row += [f"{_median(w[i][k] for w in r['profiled']):.2f}" for k in SCRIPT_KINDS]
        rows.append(row)
    total = ["8 steps"]
    for r in runs.values():
        total += [f"{_median(sum(s[k] for s in w) for w in r['profiled']):.2f}" for k in SCRIPT_KINDS]
    return markdown_table(header, [*rows, total])


def report(runs: dict[str, dict], walks: int, command: str) -> str:
    load = os.getloadavg()
    return "\n\n".join([
        f"`{command}`: one server per run, all up at once, each warmed by one walk; then {walks} timed walks "
        f"per run (CPU by thread) and {walks} under DevTools' sampling profiler (JavaScript by script; page load "
        "left out), the runs' walks alternating; medians over the walks. Browser CPU here has no performance "
        "log to feed, unlike bench/classroom.py's, so a walk costs a little less than there. Machine: "
        f"{os.cpu_count()} CPU cores, {platform.platform()}; load average at the end "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}. *app*: the app served from --app-dir; *no figures*: the "
        "same with every st.plotly_chart left out (bench/classroom_no_figures.py); *no image figures* (with "
        "--charts): only the figures that are images left out, the charts kept; *before*: the app of "
        "--before-dir. Headless Chromium rasters and composites in software (no GPU here); a laptop's GPU would "
        "take the pool and GPU-process shares.",
        "Chromium CPU-seconds per walk, by thread:", threads_table(runs),
        "Main-thread JavaScript seconds per step, by script (Plotly's chunk; Streamlit's own scripts; native "
        "work with no script: forced layout, garbage collection, DOM calls):", js_table(runs)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--walks", type=int, default=3, help="timed and profiled walks per run (default 3)")
    parser.add_argument("--app-dir", default=str(ROOT), help="serve this copy of the repository (default: this)")
    parser.add_argument("--before-dir", default="", help="also measure the app of this copy (e.g. `git archive "
                                                         "60e282c`, the classroom section's before)")
    parser.add_argument("--charts", action="store_true", help="also the app with only its image figures left "
                                                              "out (what plain pictures could save at most)")
    parser.add_argument("--json", default="", help="also save the raw measurements here")
    parser.add_argument("--write", action="store_true", help="record the section 'browser_profile'")
    args = parser.parse_args(argv)
    app_dir = Path(args.app_dir).resolve()
    apps = {"before": (Path(args.before_dir).resolve(), "all")} if args.before_dir else {}
    apps["app"] = (app_dir, "all")
    if args.charts:
        apps["no image figures"] = (app_dir, "charts")
    apps["no figures"] = (app_dir, "none")
    runs = measure(apps, args.walks)
    command = " ".join([".venv/bin/python -m bench.browser_profile", *(argv if argv is not None else sys.argv[1:])])
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))
    text = report(runs, args.walks, command)
    print(text)
    if args.write:
        from bench.sections import write_section
        write_section("browser_profile", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
