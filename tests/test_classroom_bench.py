"""bench/classroom.py's pure helpers (percentiles, byte counting from Chrome's log, tables), without browsers."""

from __future__ import annotations

import base64
import json
import math

import pytest

from bench import classroom as c


def test_percentile_interpolates_and_ignores_nan():
    assert c.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert c.percentile([0.0, 10.0], 95) == pytest.approx(9.5)
    assert c.percentile([5.0], 95) == 5.0
    assert c.percentile([1.0, float("nan"), 3.0], 50) == 2.0
    assert math.isnan(c.percentile([], 50))
    assert c.percentile([1.0, float("inf")], 95) == float("inf")  # a timeout makes the p95 a timeout


def test_parse_sessions():
    assert c.parse_sessions("1,5, 10,15") == [1, 5, 10, 15]
    with pytest.raises(ValueError):
        c.parse_sessions("0,5")


def _entry(method: str, **params) -> dict:
    return {"message": json.dumps({"message": {"method": method, "params": params}})}


def test_bytes_from_the_performance_log():
    payload = base64.b64encode(b"x" * 100).decode()
    entries = [
        _entry("Network.webSocketFrameReceived", response={"opcode": 2, "payloadData": payload}),
        _entry("Network.webSocketFrameReceived", response={"opcode": 1, "payloadData": "héllo"}),
        _entry("Network.dataReceived", requestId="a", encodedDataLength=300),
        _entry("Network.dataReceived", requestId="a", encodedDataLength=200),
        _entry("Network.loadingFinished", requestId="a", encodedDataLength=520),  # counted once, by its chunks
        _entry("Network.dataReceived", requestId="b", encodedDataLength=0),
        _entry("Network.loadingFinished", requestId="b", encodedDataLength=70),  # chunks carried no size
        _entry("Network.requestWillBeSent", requestId="c", request={"url": "chrome://resources/js/x.js"}),
        _entry("Network.loadingFinished", requestId="c", encodedDataLength=9000),  # Chromium's own, not sent
        {"message": "not json"},
    ]
    assert c.bytes_from_log(entries) == (100 + len("héllo".encode()), 500 + 70)


def test_wire_bytes_from_ss():
    text = ("ESTAB 0 0 [::ffff:127.0.0.1]:8611 [::ffff:127.0.0.1]:42462\n"
            "\t bbr wscale:10,10 rto:212 bytes_sent:153544 bytes_acked:153500 bytes_received:769 segs_out:30\n"
            "FIN-WAIT-2 0 0 [::ffff:127.0.0.1]:8611 [::ffff:127.0.0.1]:42404\n"
            "\t\n"
            "ESTAB 0 0 127.0.0.1:8611 127.0.0.1:5000\n"
            "\t cubic bytes_acked:10 bytes_received:1\n")
    assert c.parse_ss(text) == {"[::ffff:127.0.0.1]:42462": 153500, "127.0.0.1:5000": 10}
    assert c.parse_ss("") == {}


def _round(n: int, seconds: list[float], *, errors: dict[int, str] | None = None) -> c.Round:
    rnd = c.Round(n=n, steps=2, server_cpu=2.0 * n, browser_cpu=10.0 * n, rss_before=1e9, rss_end=1e9 + 20e6 * n)
    for s in range(n):
        for i in range(3):
            err = (errors or {}).get(s * 10 + i, "")
            rnd.records.append(c.StepRecord(step=i, seconds=float("nan") if err else seconds[i] + s, error=err,
                                            ws_bytes=1000, http_bytes=5000 if i == 0 else 0, browser_cpu=1.0,
                                            server_cpu=0.5))
    return rnd


def test_summaries_and_tables():
    rnd = _round(3, [1.0, 2.0, 3.0], errors={21: "timeout"})
    s = c.summarize(rnd)
    assert s[0]["p50"] == 2.0 and s[0]["errors"] == 0 and s[0]["bytes"] == 6000 and s[0]["ws"] == 1000
    assert s[1]["errors"] == 1 and s[1]["p95"] == float("inf") and s[1]["kinds"] == ["timeout"]
    t = c.walk_totals(rnd)
    assert t["server_cpu"] == 2.0 and t["browser_cpu"] == 10.0 and t["errors"] == 1
    assert t["rss_growth"] == pytest.approx(20e6)
    table = c.round_table(rnd)
    assert table.splitlines()[0].startswith("| step |") and "timeout" in table and "**walk**" in table
    assert len({line.count("|") for line in table.splitlines()}) == 1  # every row has every column
    assert c.fmt_bytes(1_500_000) == "1.50 MB" and c.fmt_bytes(2500) == "2 kB" and c.fmt_bytes(12) == "12 B"


def test_targets_and_before_after_tables(tmp_path):
    before, after = [_round(1, [1, 2, 3]), _round(2, [1, 2, 3])], [_round(1, [1, 1, 1]), _round(2, [1, 1, 1])]
    for r in after:
        r.server_cpu /= 4
        for rec in r.records:
            rec.ws_bytes = 400
    targets = c.targets_table(before, after)
    assert "| zero errors at N = 2 | 0 | 0 | yes |" in targets
    assert "server memory growth per extra session ≤ 50 MB (max over N) | 20.0 MB | 20.0 MB | yes |" in targets
    assert "| bytes per walk, app data only (WebSocket, decoded) ≤ half of before | 3 kB / 3 kB | 1 kB / 1 kB | yes |" \
        in targets
    assert "on the wire to each browser per walk (TCP, compressed where it is) ≤ half of before | – / – | – / – | " \
           "– (not measured in both) |" in targets  # no wire bytes in these rounds: no verdict
    for r, wire in zip(before + after, (1e6, 2e6, 0.4e6, 0.9e6), strict=True):
        r.wire_bytes = wire
    targets = c.targets_table(before, after)
    assert "| 1.00 MB / 1.00 MB | 400 kB / 450 kB | yes |" in targets  # per walk: 2 MB over 2 walks at N = 2
    paths = []
    for name, rounds in (("b", before), ("a", after)):
        raw = {"label": name, "load": [1, 1, 1], "command": "x", "rounds": [
            {"n": r.n, "wall": 1.0, "server_cpu": r.server_cpu, "browser_cpu": r.browser_cpu,
             "rss_before": r.rss_before, "rss_end": r.rss_end, "records": [x.__dict__ for x in r.records]}
            for r in rounds]}
        (tmp_path / f"{name}.json").write_text(json.dumps(raw))
        paths.append(str(tmp_path / f"{name}.json"))
    text = c.compare_report(*paths)
    assert "Also measured" not in text
    text = c.compare_report(*paths, also=[paths[1]])
    assert text.count("Targets") == 1 and "Also measured, **a** against the same before:" in text
    assert text.count("| zero errors at N = 2 |") == 2  # one targets table each for after and the extra run
    assert "Targets" in text and "Per step at N = 2" in text and "2.00 → 0.50" in text  # server CPU per walk


def test_the_wait_runs_in_the_page_in_chunks_and_a_page_too_busy_to_answer_is_not_done():
    """The harness's asynchronous script gets the text, the quiet period and its chunk in ms: a long wait is
    a few calls of at most CHUNK s (Selenium gives up on any one WebDriver answer after 120 s), and only the
    first resets the page's quiet clock. An answer is passed on; a driver timeout (a page thread busy past the
    chunk, as under 15 browsers on 2 cores) means "not done yet", and the deadline makes it False."""
    import itertools

    from selenium.common.exceptions import TimeoutException

    from tests.browser_util import CHUNK, wait_in_page

    class Page:
        def __init__(self, answers):
            self.answers, self.calls = iter(answers), []

        def set_script_timeout(self, seconds):
            assert seconds <= CHUNK + 30 < 120

        def execute_async_script(self, script, *args):
            assert "stStatusWidget" in script and "setInterval" in script
            self.calls.append(args)
            answer = next(self.answers)
            if answer is None:
                raise TimeoutException("script timeout")
            return answer

    page = Page([False, None, True])
    assert wait_in_page(page, quiet_for=2.0, timeout=1000) is True
    assert [c[3] for c in page.calls] == [True, False, False]  # the quiet clock is reset once
    assert all(c[:2] == (None, 2000) and c[2] == CHUNK * 1000 for c in page.calls)
    busy = Page(itertools.repeat(None))
    assert wait_in_page(busy, text="step 3 of 8", timeout=0.2) is False
    assert busy.calls[0][0] == "step 3 of 8" and busy.calls[0][2] <= 200


def test_repeated_rounds_are_tabled_per_run_with_their_medians(tmp_path):
    """--repeats: runs made alternately, grouped by what they served (snapshot, proxy, figures; not by their
    free-form labels), every round's CPU per walk and the median."""
    paths = []
    runs = (("/tmp/snap-before", "none", "b1", [14.0, 16.0]), ("/tmp/snap-1bc0b01", "nginx", "a", [10.0, 12.0]),
            ("/tmp/snap-before", "none", "b2", [13.0]))
    for i, (app_dir, proxy, label, browser) in enumerate(runs):
        rounds = [_round(1, [1, 2, 3]) for _ in browser]
        for r, b in zip(rounds, browser, strict=True):
            r.browser_cpu = b
        raw = {"label": label, "app_dir": app_dir, "proxy": proxy, "figures": "all", "rounds": [
            {"n": r.n, "wall": 1.0, "server_cpu": r.server_cpu, "browser_cpu": r.browser_cpu,
             "rss_before": r.rss_before, "rss_end": r.rss_end, "records": [x.__dict__ for x in r.records]}
            for r in rounds]}
        (tmp_path / f"{i}.json").write_text(json.dumps(raw))
        paths.append(str(tmp_path / f"{i}.json"))
    table = c.repeats_table(paths)
    assert "| before | 3 | 14.0, 16.0, 13.0 | 14.0 | 2.00, 2.00, 2.00 | 2.00 |" in table
    assert "| 1bc0b01, nginx | 2 | 10.0, 12.0 | 11.0 |" in table
    assert c.served({"app_dir": "/x/snap-1bc0b01", "proxy": "nginx", "figures": "none"}) == "1bc0b01, no figures, nginx"
    assert c.served({"app_dir": "/x/snap-f4ec4c1", "proxy": "none", "figures": "charts"}) == "f4ec4c1, no image figures"
    both = c.compare_report(paths[0], paths[1], repeats=paths)
    assert both.endswith(table) and "made in turn" in both
