"""Export a small CIFAR-shaped network (3×32×32 in, 10 classes out) the ways a user would bring it to
Decision Atlas: TorchScript (cifar_lenet.ts), a torch.export program (cifar_lenet.pt2) and its model card
(cifar_lenet.json, picked up beside either file). Nothing is trained: the weights are a seeded random draw,
so the example runs in seconds; put your own trained weights into the same net (or any net) instead.

A random LeNet is almost constant on images (one class wins everywhere and no decision boundary lies inside
the pixel box), so `calibrate` rescales and centres its output layer on random inputs: logits then vary by
about one unit and every class wins somewhere. That is a data-free rescaling, not training.

    python examples/export_cifar_net.py OUT_DIR [--activation softplus|relu]
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import torch
from torch import nn

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def lenet(activation: str = "softplus") -> nn.Sequential:
    """LeNet for CIFAR-10 (the paper's Table 2 kind of model), average pooling so softplus stays smooth."""
    act = nn.Softplus if activation == "softplus" else nn.ReLU
    return nn.Sequential(
        nn.Conv2d(3, 6, 5), act(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), act(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), act(), nn.Linear(120, 84), act(), nn.Linear(84, 10))


MEAN, STD = [0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]


@torch.no_grad()
def calibrate(net: nn.Sequential, n: int = 256) -> None:
    """Unit spread and zero mean of the logits over uniform random images (normalised as the card says)."""
    x = (torch.rand(n, 3, 32, 32) - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    features = net[:-1](x)
    logits = net[-1](features)
    net[-1].weight /= (logits - logits.mean(0)).std()
    net[-1].bias.copy_(-net[-1].weight @ features.mean(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--activation", default="softplus", choices=("softplus", "relu"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    net = lenet(args.activation).eval()
    calibrate(net)
    example = torch.zeros(2, 3, 32, 32)
    with warnings.catch_warnings():  # torch.jit is deprecated in favour of torch.export; both are accepted
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(net), str(args.out / "cifar_lenet.ts"))
    batch = torch.export.Dim("batch", min=1)  # a dynamic batch; a fixed one works too (it is split up)
    torch.export.save(torch.export.export(net, (example,), dynamic_shapes=({0: batch},)),
                      str(args.out / "cifar_lenet.pt2"))
    card = {"name": f"cifar-lenet-{args.activation}", "input_shape": [3, 32, 32], "channel_order": "RGB",
            "mean": MEAN, "std": STD, "class_names": CLASSES,
            "smooth": args.activation == "softplus",
            "description": "LeNet, CIFAR-10 shaped, random calibrated weights (example)"}
    (args.out / "cifar_lenet.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {args.out}/cifar_lenet.ts, cifar_lenet.pt2 and cifar_lenet.json")


if __name__ == "__main__":
    main()
