"""The README's "Bring your own model" example: examples/export_cifar_net.py writes a TorchScript file, a .pt2
program and a card that load through geometry.load_model, agree, and have boundaries inside the pixel box."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import torch

import geometry as g

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "export_cifar_net.py"


def test_exported_example_loads_both_ways_and_is_not_constant(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), str(tmp_path)])
    runpy.run_path(str(SCRIPT), run_name="__main__")
    ts = g.load_model(f"file:{tmp_path / 'cifar_lenet.ts'}", device="cpu")  # the card beside it
    pt2 = g.load_model(f"file:{tmp_path / 'cifar_lenet.pt2'}", card=tmp_path / "cifar_lenet.json", device="cpu")
    x = torch.rand((64, 3, 32, 32), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(ts.logits(x), pt2.logits(x), atol=1e-5)
    assert ts.card.smooth is True and ts.class_names[3] == "cat"
    assert len(set(ts.predict(x).tolist())) >= 3  # calibrated: not one class everywhere
    assert bool(g.deepfool(ts, x[:4]).success.all())  # and DeepFool finds boundaries inside [0, 1]
