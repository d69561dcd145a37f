"""Recipes compared: the tutorial, its "Extensions" and the robust recipe, each over several seeds.

    python benchmarks/recipes.py                      # every recipe, seeds 0-2: writes benchmarks/results/recipes.{md,json,png}
    python benchmarks/recipes.py --only tutorial,robust --seeds 0   # adds to the results already there (--fresh: not)

For each run (train.py in a fresh process, timed end to end): MNIST test accuracy, accuracy on a
user-like set (`samples.userlike`: 7 categories × 150 pictures made from MNIST test digits and
held-out fonts, read through the bot's own `to_mnist`), the expected calibration error on the MNIST
test set before and after temperature scaling, how many wrong and right answers on the user-like set
the bot would call unsure, and the time. Every run holds out the last 5,000 training images to fit its
temperature (`--validation 5000`), so the tutorial-like rows train on 55,000 images here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from digits.mnist import ensure_mnist, load_mnist  # noqa: E402
from digits.reading import ImageError, to_mnist  # noqa: E402
from digits.settings import Paths  # noqa: E402
from model_store import ModelStore  # noqa: E402
from network.architecture import normalize, softmax  # noqa: E402
from network.calibration import expected_calibration_error, unsure_mask  # noqa: E402
from samples.userlike import CATEGORIES, user_like_set  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
PER_CATEGORY = 150
SET_SOURCES = ("digits/reading", "samples/pictures.py", "samples/userlike.py")
RECIPES: dict[str, list[str]] = {
    "tutorial": [],
    "lr 0.0005": ["--learning-rate", "0.0005"],
    "lr 0.005": ["--learning-rate", "0.005"],
    "3 epochs": ["--epochs", "3"],
    "10 epochs": ["--epochs", "10"],
    "batch 64": ["--batch-size", "64"],
    "4 hidden layers": ["--layers", "64,64,64,64"],
    "sigmoid": ["--activation", "sigmoid"],
    "dropout 0.5": ["--dropout", "0.5"],
    "robust": ["--recipe", "robust"],
    "robust, no augmentation": ["--recipe", "robust", "--augment", "off"],
    "robust, no typed digits": ["--recipe", "robust", "--fonts", "0"],
    "robust, no not-one-digit": ["--recipe", "robust", "--outliers", "0"],
}


def load() -> float:
    return os.getloadavg()[0]


def user_set(mnist_images: np.ndarray, mnist_labels: np.ndarray, cache: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The user-like set as the network sees it (28×28 after `to_mnist`), labels and categories; cached."""
    if cache.exists():
        data = np.load(cache)
        return data["images"], data["labels"], data["categories"]
    started = time.perf_counter()
    pictures, labels, categories = user_like_set(mnist_images, mnist_labels, PER_CATEGORY,
                                                 progress=lambda c: print(f"  making {c} pictures", flush=True))
    images = np.zeros((len(pictures), 28, 28), np.uint8)
    readable = np.ones(len(pictures), bool)
    for i, picture in enumerate(pictures):
        try:
            images[i] = to_mnist(picture)
        except ImageError:
            readable[i] = False  # counted as wrong: the bot could not answer
    print(f"  user-like set: {len(pictures)} pictures, {int((~readable).sum())} unreadable, "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    labels = np.where(readable, labels, -1)
    np.savez_compressed(cache, images=images, labels=labels, categories=np.asarray(categories))
    return images, labels, np.asarray(categories)


def train(flags: list[str], seed: int, store: Path) -> tuple[dict, float, float, float]:
    """Run train.py; its summary, wall seconds, mean load average, and CPU seconds (user + system, all threads)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    before = load()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, str(REPO / "train.py"), "--json", "--no-promote", "--store", str(store),
                             "--validation", "5000", "--seed", str(seed), *flags],
                            cwd=REPO, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    if result.returncode != 0:
        sys.exit(f"benchmark: train.py {' '.join(flags)} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1]), seconds, (before + load()) / 2, cpu


def evaluate(store: Path, version: int, test: tuple[np.ndarray, np.ndarray], users: tuple[np.ndarray, np.ndarray, np.ndarray]) -> dict:
    loaded = ModelStore(store).load(version)
    network, temperature = loaded.network(), loaded.card.temperature
    test_logits = network.logits(normalize(test[0]))
    user_images, user_labels, categories = users
    user_probabilities = softmax(network.logits(normalize(user_images)), temperature)
    right = user_probabilities.argmax(axis=1) == user_labels
    unsure = unsure_mask(user_probabilities)
    return {
        "temperature": temperature,
        "mnist": float(np.mean(test_logits.argmax(axis=1) == test[1])),
        "users": float(right.mean()),
        "per_category": {c: float(right[categories == c].mean()) for c in CATEGORIES},
        "ece_before": expected_calibration_error(softmax(test_logits), test[1]),
        "ece_after": expected_calibration_error(softmax(test_logits, temperature), test[1]),
        "users_ece_after": expected_calibration_error(user_probabilities, np.maximum(user_labels, 0)),
        "wrong_flagged": float(unsure[~right].mean()) if (~right).any() else 0.0,
        "right_flagged": float(unsure[right].mean()),
    }


def mean_sd(values: list[float], scale: float = 100.0, digits: int = 2) -> str:
    mean = statistics.mean(values) * scale
    if len(values) == 1:
        return f"{mean:.{digits}f} (1 seed)"
    return f"{mean:.{digits}f} ± {statistics.stdev(values) * scale:.{digits}f}"


def table(rows: dict[str, list[dict]]) -> str:
    lines = ["| recipe | MNIST test % | user-like % | typed % | low-res % | ECE before → after (MNIST test, %) | "
             "unsure: wrong flagged / right flagged (%) | train.py wall time, s (load average) | CPU time, s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, runs in rows.items():
        def pick(key: str) -> list[float]:
            return [run[key] for run in runs]
        cpus = [run["cpu_seconds"] for run in runs if "cpu_seconds" in run]
        cpu = f"{statistics.mean(cpus):.0f}" if cpus else "–"
        lines.append(
            f"| {name} | {mean_sd(pick('mnist'))} | {mean_sd(pick('users'), digits=1)} | "
            f"{mean_sd([r['per_category']['typed'] for r in runs], digits=1)} | "
            f"{mean_sd([r['per_category']['low_res_scan'] for r in runs], digits=1)} | "
            f"{statistics.mean(pick('ece_before')) * 100:.2f} → {statistics.mean(pick('ece_after')) * 100:.2f} | "
            f"{statistics.mean(pick('wrong_flagged')) * 100:.0f} / {statistics.mean(pick('right_flagged')) * 100:.1f} | "
            f"{statistics.mean(pick('seconds')):.0f} ({statistics.mean(pick('load')):.1f}) | "
            f"{cpu} |")
    return "\n".join(lines)


def chart(rows: dict[str, list[dict]], path: Path) -> None:
    """Grouped bars per recipe: MNIST test accuracy and user-like accuracy (mean over seeds), 80-100 %."""
    width, height, left, bottom = 120 + 110 * len(rows), 420, 60, 340
    picture = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=12)
    low, high = 80.0, 100.0

    def y(value: float) -> int:
        return round(bottom - (min(max(value, low), high) - low) / (high - low) * (bottom - 40))

    for tick in range(80, 101, 5):
        draw.line((left, y(tick), width - 20, y(tick)), fill=(225, 225, 225))
        draw.text((left - 8, y(tick)), f"{tick}%", fill="black", font=font, anchor="rm")
    draw.text((width // 2, 16), "Accuracy by recipe (mean of seeds): MNIST test (dark) and user-like pictures (light)",
              fill="black", font=font, anchor="mm")
    for i, (name, runs) in enumerate(rows.items()):
        x = left + 20 + i * 110
        for j, (key, colour) in enumerate((("mnist", (40, 80, 160)), ("users", (120, 170, 230)))):
            value = statistics.mean(run[key] for run in runs) * 100
            draw.rectangle((x + j * 32, y(value), x + j * 32 + 28, bottom), fill=colour)
            draw.text((x + j * 32 + 14, y(value) - 8), f"{value:.1f}", fill="black", font=ImageFont.load_default(size=10), anchor="mm")
        draw.multiline_text((x + 30, bottom + 20), name.replace(", ", ",\n"), fill="black", font=font, anchor="mm", align="center")
    picture.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--only", default="", help="comma-separated recipe names (default: all)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--fresh", action="store_true", help="forget the results already in recipes.json")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    names = [n for n in args.only.split(",") if n] or list(RECIPES)
    args.out.mkdir(parents=True, exist_ok=True)

    paths = Paths.from_env()
    mnist = load_mnist(ensure_mnist(paths.mnist_dir, paths.mnist_cache))
    test = (mnist.test_images, mnist.test_labels.astype(np.int64))
    # Cached per version of the code that makes and reads the pictures: a change there makes a new set.
    sources = sorted(path for name in SET_SOURCES for path in ([REPO / name] if name.endswith(".py") else (REPO / name).glob("*.py")))
    code = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()[:12]
    users = user_set(mnist.test_images, mnist.test_labels, paths.mnist_cache.parent / f"user_like_set_{PER_CATEGORY}_{code}.npz")
    # Results are kept run by run in recipes.json: a later call adds to them (and skips runs already there).
    saved = args.out / "recipes.json"
    rows: dict[str, list[dict]] = json.loads(saved.read_text()) if saved.exists() and not args.fresh else {}
    with tempfile.TemporaryDirectory() as scratch:
        store = Path(scratch) / "models"
        for name in names:
            for seed in seeds:
                if any(run["seed"] == seed for run in rows.get(name, [])):
                    continue
                done, seconds, load_avg, cpu = train(RECIPES[name], seed, store)
                run = {"seed": seed, "seconds": seconds, "cpu_seconds": cpu, "fit_seconds": done["fit_seconds"], "load": load_avg,
                       **evaluate(store, done["version"], test, users)}
                rows.setdefault(name, []).append(run)
                print(f"{name} seed {seed}: MNIST {run['mnist']:.2%}, user-like {run['users']:.2%}, "
                      f"ECE {run['ece_before']:.4f} → {run['ece_after']:.4f}, unsure flags {run['wrong_flagged']:.0%} of wrong, "
                      f"{run['right_flagged']:.1%} of right; {seconds:.0f} s (load {load_avg:.1f})", flush=True)
                saved.write_text(json.dumps(rows, indent=1))
    rows = {name: rows[name] for name in RECIPES if name in rows}
    (args.out / "recipes.md").write_text(table(rows) + "\n")
    chart(rows, args.out / "recipes.png")
    print(table(rows))


if __name__ == "__main__":
    main()
