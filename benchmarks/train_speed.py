"""Training speed: the tutorial's own `model.fit` against train.py, side by side, same data and hyperparameters.

    python benchmarks/train_speed.py                 # seeds 0-4: both fit times, ratio, test accuracies
    python benchmarks/train_speed.py --seeds 0 --json

Each side runs in a fresh process per seed (TensorFlow's thread settings are per process), one after
the other so they never share the two cores. Target: train.py's fit time ≤ 0.3× the tutorial's, with
test accuracy ≥ 96.0% at the default seed and a median ≥ 96.3% over the seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# The tutorial's training code, verbatim apart from the seed and the timer around model.fit.
TUTORIAL = """
import json, sys, time
from digits.mnist import ensure_mnist, load_mnist
from digits.settings import Paths
paths = Paths.from_env()
mnist = load_mnist(ensure_mnist(paths.mnist_dir, paths.mnist_cache))
train_images = (mnist.train_images / 255) - 0.5
test_images = (mnist.test_images / 255) - 0.5
train_images = train_images.reshape((-1, 784))
test_images = test_images.reshape((-1, 784))
import keras
from keras.layers import Dense, Input
from keras.models import Sequential
from keras.utils import to_categorical
keras.utils.set_random_seed(int(sys.argv[1]))
model = Sequential([Input(shape=(784,)), Dense(64, activation="relu"), Dense(64, activation="relu"), Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
started = time.perf_counter()
model.fit(train_images, to_categorical(mnist.train_labels), epochs=5, batch_size=32, verbose=0)
fit_seconds = time.perf_counter() - started
loss, accuracy = model.evaluate(test_images, to_categorical(mnist.test_labels), verbose=0)
print(json.dumps({"fit_seconds": fit_seconds, "test_accuracy": accuracy}))
"""


def run_json(command: list[str]) -> dict:
    """Run a command and return its last stdout line as JSON."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"benchmark: {' '.join(command[:3])} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds; the first is train.py's default (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the medians")
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]

    rows = []
    with tempfile.TemporaryDirectory() as store:
        for seed in seeds:
            tutorial = run_json([sys.executable, "-c", TUTORIAL, str(seed)])
            ours = run_json([sys.executable, "train.py", "--json", "--no-promote", "--store", store, "--seed", str(seed)])
            rows.append((seed, tutorial["fit_seconds"], ours["fit_seconds"], tutorial["test_accuracy"], ours["test_accuracy"]))
            print(f"seed {seed}: tutorial fit {tutorial['fit_seconds']:.2f} s ({tutorial['test_accuracy']:.2%})  "
                  f"train.py fit {ours['fit_seconds']:.2f} s ({ours['test_accuracy']:.2%})  "
                  f"ratio {ours['fit_seconds'] / tutorial['fit_seconds']:.3f}", flush=True)

    summary = {
        "seeds": seeds,
        "tutorial_fit_s": round(statistics.median(r[1] for r in rows), 3),
        "train_fit_s": round(statistics.median(r[2] for r in rows), 3),
        "ratio": round(statistics.median(r[2] / r[1] for r in rows), 3),
        "tutorial_accuracy": round(statistics.median(r[3] for r in rows), 4),
        "train_accuracy": round(statistics.median(r[4] for r in rows), 4),
        "train_accuracy_first_seed": round(rows[0][4], 4),
    }
    print(f"median over {len(seeds)} seeds: tutorial fit {summary['tutorial_fit_s']} s, train.py fit {summary['train_fit_s']} s, "
          f"ratio {summary['ratio']} (target ≤ 0.3); accuracy tutorial {summary['tutorial_accuracy']:.2%}, "
          f"train.py {summary['train_accuracy']:.2%} (seed {seeds[0]}: {summary['train_accuracy_first_seed']:.2%})")
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
