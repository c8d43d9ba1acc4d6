"""geometry/engine.py and the batch subcommands' --engine / --resume: deterministic chunks and seeds, shards,
resuming a killed run, and the Ray engine giving the same JSON as the local one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.cli import main
from geometry import engine
from geometry.batch_jobs import split_count
from geometry.engine import Job, ShardStore, chunk_bounds, chunk_seed, shard_folder
from geometry.errors import AtlasError

ROOT = Path(__file__).resolve().parent.parent
VARYING = {"seconds", "engine", "workers", "address", "resume", "out"}  # timings, how and where it ran


def _numbers(path: Path) -> dict:
    """The JSON without timings and engine settings."""
    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in VARYING}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj
    return strip(json.loads(path.read_text()))


def test_chunks_cover_the_images_once_in_order():
    assert chunk_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert chunk_bounds(3, 5) == [(0, 3)]
    with pytest.raises(AtlasError, match="chunk size"):
        chunk_bounds(3, 0)


def test_chunk_seeds_depend_on_run_seed_and_index_only():
    seeds = [chunk_seed(7, i) for i in range(50)]
    assert seeds == [chunk_seed(7, i) for i in range(50)]
    assert len(set(seeds)) == 50 and chunk_seed(8, 0) != seeds[0]


def test_pairs_are_shared_out_exactly():
    for total in (0, 1, 5, 10, 33):
        shares = [split_count(total, 7, i) for i in range(7)]
        assert sum(shares) == total and max(shares) - min(shares) <= 1
        assert sum(split_count(total, 7, i, reverse=True) for i in range(7)) == total
    assert split_count(2, 4, 0) == 1 and split_count(2, 4, 3, reverse=True) == 1 and split_count(2, 4, 3) == 0


def test_store_refuses_a_leftover_run_and_a_changed_configuration(tmp_path):
    config = Job("detect", "m", {"directions": 2}).config(10)
    ShardStore(tmp_path / "s", config).write(0, {"n": 5})
    with pytest.raises(AtlasError, match="--resume"):
        ShardStore(tmp_path / "s", config)
    assert ShardStore(tmp_path / "s", config, resume=True).done() == {0}
    changed = Job("detect", "m", {"directions": 3}).config(10)
    with pytest.raises(AtlasError, match="params: saved"):
        ShardStore(tmp_path / "s", changed, resume=True)


CURVATURE = ["curvature", "--model", "mnist-softplus-cnn", "--images", "digits", "--limit", "8",
             "--solver", "full", "--chunk-size", "1", "--seed", "3"]


@pytest.mark.slow
def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch):
    whole, killed = tmp_path / "whole.json", tmp_path / "killed.json"
    assert main([*CURVATURE, "--out", str(whole)]) == 0
    assert not shard_folder(whole).exists()  # shards are removed once the merged JSON is written
    parts = shard_folder(killed)
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", *CURVATURE, "--out", str(killed)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not list(parts.glob("chunk-*.json")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    finished = {int(p.stem.removeprefix("chunk-")) for p in parts.glob("chunk-*.json")}
    assert 1 <= len(finished) < 8 and not killed.exists()
    calls = []
    real = engine.run_chunk
    monkeypatch.setattr(engine, "run_chunk", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    assert main([*CURVATURE, "--out", str(killed), "--resume"]) == 0
    assert sorted(calls) == sorted(set(range(8)) - finished)  # finished chunks were not computed again
    assert _numbers(killed) == _numbers(whole)


def test_resume_with_other_arguments_is_a_clean_error(tmp_path, capsys):
    out = tmp_path / "c.json"
    store = ShardStore(shard_folder(out), {"command": "curvature", "seed": 99})
    store.write(0, {"n": 1, "rows": []})
    assert main([*CURVATURE, "--out", str(out), "--resume"]) == 2
    assert "another configuration" in capsys.readouterr().err
    assert main([*CURVATURE, "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err


def test_workers_without_ray_is_a_clean_error(tmp_path, capsys):
    assert main([*CURVATURE, "--out", str(tmp_path / "c.json"), "--workers", "2"]) == 2
    assert "--engine ray" in capsys.readouterr().err


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_worker_niceness", "0")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.slow
@pytest.mark.parametrize("command", [
    ["detect", "--model", "mnist-relu-cnn", "--limit", "6", "--attack", "all", "--directions", "2"],
    ["curvature", "--model", "mnist-relu-cnn", "--limit", "4", "--solver", "lanczos", "--k", "3"],
    ["paths", "--model", "mnist-softplus-cnn", "--limit", "40", "--pairs", "3", "--adversarial", "2",
     "--chunk-size", "10"],
], ids=["detect", "curvature", "paths"])
def test_ray_engine_gives_the_local_numbers(tmp_path, ray_cluster, command):
    args = [*command, "--seed", "5"] + ([] if "--chunk-size" in command else ["--chunk-size", "2"])
    local, remote = tmp_path / "local.json", tmp_path / "ray.json"
    assert main([*args, "--out", str(local)]) == 0
    assert main([*args, "--out", str(remote), "--engine", "ray", "--workers", "2"]) == 0
    assert _numbers(remote) == _numbers(local)
    assert json.loads(remote.read_text()) != {}


@pytest.mark.slow
def test_reproduce_on_ray_gives_the_local_report(tmp_path, ray_cluster):
    """reproduce: one unit per claim, each over all images; the report is the same on both engines."""
    args = ["reproduce", "--model", "mnist-relu-cnn", "--images", "digits", "--limit", "6", "--claims", "paths",
            "detection", "--attacks", "deepfool", "--directions", "2", "--pairs", "2", "--adversarial", "1"]
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    assert main([*args, "--out", str(tmp_path / "ray"), "--engine", "ray", "--workers", "2"]) == 0
    local, remote = _numbers(tmp_path / "local" / "report.json"), _numbers(tmp_path / "ray" / "report.json")
    assert {k: v for k, v in remote.items() if k != "timings"} == {k: v for k, v in local.items() if k != "timings"}
    assert local["detection"]["verdict"] != "not measured" and local["curvature"]["verdict"] == "not measured"
