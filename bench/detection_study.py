"""Detection study (docs/findings.md): why Algorithm 2's curvature asymmetry (docs/paper_notes.md §7) is weak on
our nets. For one embedded model it varies, one at a time, the finite-difference scale h (or exact HVPs),
the number of random directions T, where the curvature is taken (at x, or a fraction α of the way to x's own
DeepFool boundary point), which classes are averaged (all, the top-3 / top-2 by logit, the runner-up only),
the statistic (mean, min) and the DeepFool overshoot; it also reports the per-class score of the original
class before (at x, the score of the class the attack moves to: the same boundary seen from x's side) and
after the attack (at x + r, the score of the original class), and the trivial baselines (minus the logit
margin as the score, the runner-up logit as the recovered label).

Protocol: every choice (h, T, α, class set, statistic, threshold at 5 % FPR on clean images) is made on a
VALIDATION split; the chosen detector and the default one are then reported on a DISJOINT report split with
the validation threshold. MNIST: validation = held-out digits 250..499, report = digits 0..249
(assets/images/mnist_heldout.npz; the app calibrates its threshold on the same validation half and shows
digits from the report half). Fashion-MNIST: validation = assets/images/fashion_val.npz (training-set
images never trained on), report = assets/images/fashion_heldout.npz (test images). The first --n-val /
--n-report images of each split are used. Directions are seeded, so a re-run gives the same numbers
(one torch thread by default, for bitwise-stable sums: a --no-cache re-run reproduced the cached
curvatures bit for bit).

    .venv/bin/python -m bench.detection_study --model mnist-relu-cnn --n-val 100 --n-report 150
    .venv/bin/python -m bench.detection_study --model fmnist-relu-cnn --n-val 100 --n-report 150 \
        --alphas 1 --overshoots ""      # fewer evaluation points, no overshoot sweep (CPU time)

Per-direction curvatures are cached under build/detection_study/ (keyed by the weights' hash and all
settings), so re-running the analysis is cheap; --no-cache recomputes. Writes bench/detection_study/MODEL.json
and prints markdown tables.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from geometry.attacks import attack
from geometry.detection import (
    DEFAULT_DETECTION_STEP,
    DEFAULT_DIRECTIONS,
    curvature_scores,
    evaluation_points,
    random_directions,
    roc_curve,
    threshold_at_fpr,
)
from geometry.images import load_digits, load_fashion
from geometry.loading import MODELS_DIR, load_embedded, read_card

CACHE = Path("build/detection_study")
OUT = Path("bench/detection_study")
T_MAX = 16
TS = (1, 2, 4, 8, 16)
CLASS_SETS = {"all": None, "top-3": 3, "top-2": 2, "runner-up": 1}  # other classes averaged, by logit at x
STATS = ("mean", "min")
OVERSHOOT = 0.02  # geometry.attacks default for DeepFool
OVERSHOOTS = (0.0, 0.5)  # the sweep (0.02 is the main run)
ALPHAS = (0.5, 1.0)  # fraction of the way to the image's own DeepFool boundary point
HS_RELU = (0.02, 0.1, 0.5)
HS_SMOOTH = (0.5,)  # finite differences on the smooth net at a coarse scale, beside exact HVPs
FPR = 0.05


# --- data --------------------------------------------------------------------------------------------

def splits(model_name: str, n_val: int, n_report: int) -> dict[str, np.ndarray]:
    """The validation and report images of the model's data set (disjoint)."""
    dataset = read_card(model_name).get("dataset", "mnist")
    if dataset == "fashion-mnist":
        return {"val": load_fashion("val").images[:n_val], "report": load_fashion("heldout").images[:n_report]}
    digits = load_digits().images
    half = len(digits) // 2
    if n_val > len(digits) - half or n_report > half:
        raise SystemExit(f"MNIST splits hold {half} images each")
    return {"val": digits[half:][:n_val], "report": digits[:half][:n_report]}


def weights_hash(model_name: str) -> str:
    return hashlib.sha256((MODELS_DIR / f"{model_name}.safetensors").read_bytes()).hexdigest()[:12]


# --- computation (cached) -------------------------------------------------------------------------------

class Study:
    def __init__(self, model_name: str, seed: int, use_cache: bool):
        self.name, self.seed, self.use_cache = model_name, seed, use_cache
        self.model = load_embedded(model_name)
        self.smooth = bool(self.model.card.smooth)
        self.hash = weights_hash(model_name)
        self.default_method = "exact" if self.smooth else "fd"
        self.default_h = DEFAULT_DETECTION_STEP

    def _cached(self, key: str, fn, x: np.ndarray) -> dict:
        key += " images=" + hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()[:12]
        path = CACHE / f"{self.name}-{self.hash}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
        if self.use_cache and path.exists():
            with np.load(path) as f:
                return {k: f[k] for k in f.files}
        t0 = time.perf_counter()
        out = fn()
        print(f"    computed {key} in {time.perf_counter() - t0:.0f} s", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **out)
        return out

    def deepfool(self, split: str, x: np.ndarray, overshoot: float) -> dict:
        def run():
            res = attack(self.model, torch.from_numpy(x), "deepfool", overshoot=overshoot)
            return {"adversarial": res.adversarial.astype(np.float32), "success": res.success,
                    "label": res.label, "adv_label": res.adv_label, "l2": res.l2}
        return self._cached(f"deepfool {split} n={len(x)} overshoot={overshoot}", run, x)

    def scores(self, split: str, what: str, x: np.ndarray, rows: np.ndarray, *, method: str, h: float,
               alpha: float) -> dict:
        """Per-direction curvatures (N, L, T_MAX) of images x, which are rows `rows` of the split (image j
        is scored along the directions of clean image rows[j]), and their logits (N, L)."""
        def run():
            xt = torch.from_numpy(np.ascontiguousarray(x))
            v = random_directions(self.model, int(rows.max()) + 1, T_MAX, self.seed)[torch.from_numpy(rows)]
            at = evaluation_points(self.model, xt, alpha) if alpha else None
            cs = curvature_scores(self.model, xt, h=h, method=method, seed=self.seed, v=v, at=at)
            return {"samples": cs.samples.astype(np.float32), "label": cs.label,
                    "logits": self.model.logits(xt).cpu().numpy()}
        h_key = "exact" if method == "exact" else f"h={h}"
        return self._cached(f"scores {split} {what} n={len(x)} {h_key} alpha={alpha} T={T_MAX} "
                            f"seed={self.seed} rows={hashlib.sha256(rows.tobytes()).hexdigest()[:8]}", run, x)

    def pair(self, split: str, x: np.ndarray, *, method: str, h: float, alpha: float = 0.0,
             overshoot: float = OVERSHOOT, clean: dict | None = None) -> dict:
        """Clean and DeepFool-attacked scores of one split for one detector configuration."""
        df = self.deepfool(split, x, overshoot)
        ok = np.flatnonzero(df["success"])
        if clean is None:
            clean = self.scores(split, "clean", x, np.arange(len(x)), method=method, h=h, alpha=alpha)
        adv = self.scores(split, f"deepfool(overshoot={overshoot})", df["adversarial"][ok], ok,
                          method=method, h=h, alpha=alpha)
        return {"clean": clean, "adv": adv, "ok": ok, "original": df["label"][ok],
                "target": df["adv_label"][ok], "l2": df["l2"][ok], "success_rate": float(df["success"].mean())}


# --- statistics ------------------------------------------------------------------------------------------

def oriented(s: dict, t: int) -> np.ndarray:
    """(N, L) oriented class scores c_i = −(mean curvature of F_i over the first t directions); NaN at k̂."""
    with warnings.catch_warnings():  # k̂'s column is all NaN by design
        warnings.simplefilter("ignore", RuntimeWarning)
        return -np.nanmean(s["samples"][:, :, :t], axis=2)


def class_mask(s: dict, k: int | None) -> np.ndarray:
    """(N, L) the classes averaged: all others, or the top-k other classes by logit at the image."""
    logits = s["logits"].astype(float).copy()
    n = len(logits)
    logits[np.arange(n), s["label"]] = -np.inf
    mask = np.isfinite(logits)
    if k is not None:
        mask = np.zeros_like(mask)
        np.put_along_axis(mask, np.argsort(-logits, axis=1)[:, :k], True, axis=1)
    return mask


def statistic(s: dict, t: int, k: int | None, stat: str, sign: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(N,) detection score (higher = perturbed) and (N,) recovered label, over the chosen classes. sign = −1
    flips the orientation (when clean images are the ones with the higher c)."""
    c = np.where(class_mask(s, k), sign * oriented(s, t), np.nan)
    score = np.nanmean(c, axis=1) if stat == "mean" else np.nanmin(c, axis=1)
    return score, np.nanargmax(c, axis=1)


def metrics(p: dict, t: int, k: int | None, stat: str, threshold: float | None = None,
            sign: float | None = None) -> dict:
    """AUC, threshold at 5 % FPR (from these clean images unless given), TPR/FPR there, recovery, and the
    paper's Table 2 statistic (share of clean images with score < 0, of attacked ones with score > 0).
    sign None: the orientation with AUC ≥ 0.5 on these images (a validation choice)."""
    if sign is None:
        up = metrics(p, t, k, stat, threshold, 1.0)
        return up if up["auc"] >= 0.5 else metrics(p, t, k, stat, threshold, -1.0)
    c, _ = statistic(p["clean"], t, k, stat, sign)
    a, rec = statistic(p["adv"], t, k, stat, sign)
    thr = threshold_at_fpr(c, FPR) if threshold is None else threshold
    flagged = a >= thr
    hit = rec == p["original"]
    return {"sign": sign, "auc": roc_curve(c, a).auc, "threshold": float(thr), "fpr": float((c >= thr).mean()),
            "tpr": float(flagged.mean()), "recovery_detected": float(hit[flagged].mean()) if flagged.any()
            else float("nan"), "recovery_all": float(hit.mean()), "clean_sign": float((c < 0).mean()),
            "attacked_sign": float((a > 0).mean()), "n_clean": len(c), "n_attacked": len(a)}


def margin(s: dict) -> np.ndarray:
    """(N,) the logit margin f_k̂ − max_{i≠k̂} f_i of each image."""
    top = np.sort(s["logits"], axis=1)
    return top[:, -1] - top[:, -2]


def baseline(p: dict, threshold: float | None = None) -> dict:
    """The trivial baselines: −margin as the detection score, the runner-up logit as the recovered label."""
    c, a = -margin(p["clean"]), -margin(p["adv"])
    thr = threshold_at_fpr(c, FPR) if threshold is None else threshold
    hit = runner_up(p["adv"]) == p["original"]
    flagged = a >= thr
    return {"auc": roc_curve(c, a).auc, "threshold": float(thr), "fpr": float((c >= thr).mean()),
            "tpr": float(flagged.mean()), "recovery_all": float(hit.mean()),
            "recovery_detected": float(hit[flagged].mean()) if flagged.any() else float("nan")}


def mechanism(p: dict, t: int) -> dict:
    """The original class's score before and after the attack, and the other classes'."""
    cc, ca = oriented(p["clean"], t), oriented(p["adv"], t)
    rows = np.arange(len(p["ok"]))
    before = cc[p["ok"], p["target"]]  # at x: the boundary towards the class the attack moves to
    after = ca[rows, p["original"]]  # at x + r: the boundary back towards the original class
    others_mask = np.isfinite(ca)
    others_mask[rows, p["original"]] = False
    others_after = np.nanmean(np.where(others_mask, ca, np.nan), axis=1)
    others_before = np.nanmean(np.where(np.isfinite(cc), cc, np.nan), axis=1)[p["ok"]]
    rank = (ca > after[:, None]).sum(1)  # 0: the original class has the largest score at x + r
    # direction noise of the mean statistic: standard error over the T directions vs spread over images
    per_dir = -np.nanmean(p["clean"]["samples"][:, :, :t], axis=1)  # (N, t)
    se = per_dir.std(1, ddof=1) / np.sqrt(t)
    spread = np.nanmean(cc, axis=1)
    return {"before_median": float(np.median(before)), "before_positive": float((before > 0).mean()),
            "after_median": float(np.median(after)), "after_positive": float((after > 0).mean()),
            "mirror_corr": float(np.corrcoef(before, -after)[0, 1]),
            "others_before_median": float(np.median(others_before)),
            "others_after_median": float(np.median(others_after)),
            "original_top_share": float((rank == 0).mean()),
            "target_was_runner_up": float((p["target"] == runner_up(p["clean"])[p["ok"]]).mean()),
            "noise_se_median": float(np.median(se)),
            "clean_iqr": float(np.subtract(*np.percentile(spread, [75, 25]))),
            "median_l2": float(np.median(p["l2"])), "success_rate": p["success_rate"]}


def runner_up(s: dict) -> np.ndarray:
    return np.argsort(-s["logits"], axis=1)[:, 1]


# --- the study -------------------------------------------------------------------------------------------

def detector_configs(study: Study, alphas: tuple[float, ...] = ALPHAS) -> list[dict]:
    """Where and how the curvature is taken: (method, h, α) triples swept on the validation split."""
    d = study.default_h
    base = [{"method": study.default_method, "h": d, "alpha": 0.0}]
    if study.smooth:
        base += [{"method": "fd", "h": h, "alpha": 0.0} for h in HS_SMOOTH]
    else:
        base += [{"method": "fd", "h": h, "alpha": 0.0} for h in HS_RELU if h != d]
    base += [{"method": study.default_method, "h": d, "alpha": a} for a in alphas]
    return base


def label(cfg: dict) -> str:
    where = "at x" if not cfg["alpha"] else f"α={cfg['alpha']:g}"
    return f"{'exact' if cfg['method'] == 'exact' else 'h=' + format(cfg['h'], 'g')}, {where}"


def run(model_name: str, n_val: int, n_report: int, seed: int, use_cache: bool,
        alphas: tuple[float, ...] = ALPHAS, overshoots: tuple[float, ...] = OVERSHOOTS) -> dict:
    study = Study(model_name, seed, use_cache)
    data = splits(model_name, n_val, n_report)
    print(f"# {model_name} (weights {study.hash}): validation {len(data['val'])}, report "
          f"{len(data['report'])} images, seed {seed}", flush=True)
    # 1. validation sweep over where/how the curvature is taken × T × class set × statistic
    val_rows, pairs = [], {}
    for cfg in detector_configs(study, alphas):
        p = study.pair("val", data["val"], **cfg)
        pairs[label(cfg)] = p
        for t in TS:
            for cname, k in CLASS_SETS.items():
                for stat in STATS:
                    if stat == "min" and k == 1:
                        continue  # one class: min = mean
                    val_rows.append({**cfg, "T": t, "classes": cname, "stat": stat, **metrics(p, t, k, stat)})
    # 2. the DeepFool overshoot (default detector)
    dcfg = {"method": study.default_method, "h": study.default_h, "alpha": 0.0}
    base = pairs[label(dcfg)]
    over_rows = []
    for eta in sorted({OVERSHOOT, *overshoots}) if overshoots else ():
        p = study.pair("val", data["val"], **dcfg, overshoot=eta, clean=base["clean"])
        for cname in ("all", "runner-up"):
            over_rows.append({"overshoot": eta, "classes": cname, **metrics(p, DEFAULT_DIRECTIONS,
                                                                            CLASS_SETS[cname], "mean"),
                              "median_l2": float(np.median(p["l2"]))})
    # 3. choose on validation: the highest TPR at 5 % FPR, ties by AUC, then the cheaper (smaller T)
    best = max(val_rows, key=lambda r: (round(r["tpr"], 6), round(r["auc"], 6), -r["T"]))
    chosen = {k: best[k] for k in ("method", "h", "alpha", "T", "classes", "stat", "sign")}
    default = {**dcfg, "T": DEFAULT_DIRECTIONS, "classes": "all", "stat": "mean", "sign": 1.0}
    # 4. report split: default and chosen detectors, thresholds from validation; the margin baseline
    report = {}
    base_val = baseline(base)
    for name, det in (("default", default), ("chosen", chosen)):
        where = {k: det[k] for k in ("method", "h", "alpha")}
        args = (det["T"], CLASS_SETS[det["classes"]], det["stat"])
        thr = metrics(pairs[label(where)], *args, sign=det["sign"])["threshold"]
        p = study.pair("report", data["report"], **where)
        report[name] = {"config": det, "validation_threshold": thr,
                        **metrics(p, *args, threshold=thr, sign=det["sign"]),
                        "mechanism": mechanism(p, det["T"])}
    report["baseline"] = {"validation": base_val, "report": baseline(p, base_val["threshold"])}
    out = {"model": model_name, "weights_sha256_12": study.hash, "seed": seed, "n_val": len(data["val"]),
           "n_report": len(data["report"]), "validation": val_rows, "overshoot_validation": over_rows,
           "mechanism_validation": mechanism(base, DEFAULT_DIRECTIONS), "chosen": chosen, "report": report}
    if alphas:  # the crossed boundary seen from both sides at (almost) the same point: the Table 2 setting
        at_boundary = pairs[label({**dcfg, "alpha": max(alphas)})]
        out["mechanism_boundary_validation"] = {"alpha": max(alphas),
                                                **mechanism(at_boundary, DEFAULT_DIRECTIONS)}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{model_name}.json").write_text(json.dumps(out, indent=1, default=float))
    print_tables(out)
    return out


# --- printing --------------------------------------------------------------------------------------------

def _f(v: float, p: int = 2) -> str:
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{p}f}"


def _cell(r: dict) -> str:
    return f"{_f(r['auc'])}{'*' if r['sign'] < 0 else ''} / {_f(r['tpr'])}"


def print_tables(out: dict) -> None:
    rows = out["validation"]

    def find(**kw):
        return next(r for r in rows if all(r[k] == v for k, v in kw.items()))

    dm = "exact" if any(r["method"] == "exact" for r in rows) else "fd"
    dh = DEFAULT_DETECTION_STEP
    print(f"\n## {out['model']} — validation ({out['n_val']} images): AUC / TPR at 5 % FPR, mean over all classes")
    print("| where / scale | " + " | ".join(f"T={t}" for t in TS) + " |")
    print("|---|" + "---|" * len(TS))
    for cfg in {label(r): r for r in rows}.values():
        where = {k: cfg[k] for k in ("method", "h", "alpha")}
        cells = [_cell(find(**where, T=t, classes="all", stat="mean")) for t in TS]
        print(f"| {label(cfg)} | " + " | ".join(cells) + " |")
    print("(* = flipped orientation: on validation the clean images score higher, so −c is the score)")
    for alpha in sorted({0.0, max(r["alpha"] for r in rows)}):
        _class_table(find, dm, dh, alpha)
    print_rest(out)


def _class_table(find, dm: str, dh: float, alpha: float) -> None:
    where = "at x" if not alpha else f"α={alpha:g}"
    print(f"\n### class set and statistic (validation, {dm}{'' if dm == 'exact' else f' h={dh}'}, {where}, "
          f"T={T_MAX}): AUC / TPR@5%FPR / recovery of all attacked / Table-2 signs (clean <0, attacked >0)")
    print("| classes | statistic | AUC | TPR | recovery | clean sign | attacked sign |")
    print("|---|---|---|---|---|---|---|")
    for cname in CLASS_SETS:
        for stat in STATS:
            if stat == "min" and cname == "runner-up":
                continue
            r = find(method=dm, h=dh, alpha=alpha, T=T_MAX, classes=cname, stat=stat)
            print(f"| {cname} | {stat} | {_cell(r).split(' /')[0]} | {_f(r['tpr'])} | {_f(r['recovery_all'])} | "
                  f"{_f(r['clean_sign'])} | {_f(r['attacked_sign'])} |")


def print_rest(out: dict) -> None:
    if out["overshoot_validation"]:
        print(f"\n### DeepFool overshoot (validation, default detector, T={DEFAULT_DIRECTIONS})")
        print("| overshoot | median ‖r‖ | AUC all | TPR all | AUC runner-up | TPR runner-up |")
        print("|---|---|---|---|---|---|")
        for eta in sorted({r["overshoot"] for r in out["overshoot_validation"]}):
            a, b = (next(r for r in out["overshoot_validation"] if r["overshoot"] == eta and r["classes"] == c)
                    for c in ("all", "runner-up"))
            print(f"| {eta:g} | {_f(a['median_l2'])} | {_cell(a).replace(' / ', ' | ')} | "
                  f"{_cell(b).replace(' / ', ' | ')} |")
    print(f"\n### report split ({out['n_report']} images), thresholds from validation")
    print("| detector | AUC | TPR | FPR | recovery (detected) | recovery (all) | clean sign | attacked sign |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in out["report"].items():
        if name == "baseline":
            b = r["report"]
            print(f"| baseline: −logit margin; runner-up logit as label | {_f(b['auc'])} | {_f(b['tpr'])} | "
                  f"{_f(b['fpr'])} | {_f(b['recovery_detected'])} | {_f(b['recovery_all'])} | | |")
            continue
        c = r["config"]
        desc = f"{name}: {label(c)}, T={c['T']}, {c['classes']}, {c['stat']}{', flipped' * (c['sign'] < 0)}"
        print(f"| {desc} | {_f(r['auc'])} | {_f(r['tpr'])} | {_f(r['fpr'])} | {_f(r['recovery_detected'])} | "
              f"{_f(r['recovery_all'])} | {_f(r['clean_sign'])} | {_f(r['attacked_sign'])} |")
    _mechanism_lines(out["report"]["default"]["mechanism"], "report split, default detector")
    if "mechanism_boundary_validation" in out:
        m = out["mechanism_boundary_validation"]
        _mechanism_lines(m, f"validation split, default h, α={m['alpha']:g} (at the boundary point)")


def _mechanism_lines(m: dict, where: str) -> None:
    print(f"\n### mechanism ({where}): oriented score c = −s (higher = 'perturbed' at x)")
    print(f"- c of the attack's target class at x (before): median {m['before_median']:.3g}, "
          f"{m['before_positive']:.0%} > 0; c of the original class at x + r (after): median "
          f"{m['after_median']:.3g}, {m['after_positive']:.0%} > 0; corr(before, −after) = {m['mirror_corr']:.2f}")
    print(f"- other classes: median c at x {m['others_before_median']:.3g}, at x + r {m['others_after_median']:.3g}; "
          f"original class ranked first at x + r for {m['original_top_share']:.0%}; DeepFool target = runner-up "
          f"at x for {m['target_was_runner_up']:.0%}")
    print(f"- direction noise of the mean score: median standard error {m['noise_se_median']:.3g} vs IQR of "
          f"clean scores {m['clean_iqr']:.3g}; DeepFool success {m['success_rate']:.0%}, median ‖r‖ "
          f"{m['median_l2']:.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="an embedded model, e.g. mnist-relu-cnn")
    p.add_argument("--n-val", type=int, default=120)
    p.add_argument("--n-report", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--alphas", default=",".join(map(str, ALPHAS)),
                   help="fractions of the way to the boundary to try besides 0 (comma-separated; '' for none)")
    p.add_argument("--overshoots", default=",".join(map(str, OVERSHOOTS)),
                   help="DeepFool overshoots to try besides 0.02 (comma-separated; '' for none)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)

    def floats(text: str) -> tuple[float, ...]:
        return tuple(float(v) for v in text.split(",") if v.strip())

    run(a.model, a.n_val, a.n_report, a.seed, not a.no_cache, floats(a.alphas), floats(a.overshoots))


if __name__ == "__main__":
    main()
