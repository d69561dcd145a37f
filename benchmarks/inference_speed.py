"""The inference service against the naive hobby pipeline, side by side on the same weights.

    python benchmarks/inference_speed.py [--store DIR] [--json]

Naive: Pillow open, convert to L, resize to 28×28, Keras `model.predict` per image. Service:
`InferenceService.predict` / `predict_batch` (NumPy, no TensorFlow). Measures latency p50/p99 for a
28×28 PNG, a 1000×1000 PNG drawing and a 4000×3000 JPEG photo, throughput for a batch of small
images, and how long a fresh process takes to its first prediction. Uses the served version of
the store (default $MODEL_STORE); trains a small one into a temporary store if there is none.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from digits.inference import InferenceService
from digits.mnist import load_test_set
from digits.settings import Paths
from model_store import ModelStore, StoreError
from samples import pictures

REPO = Path(__file__).resolve().parents[1]

TARGETS = {"png_28_p50_ms": 0.5, "jpeg_4000x3000_p50_ms": 60.0, "number_6_vs_single": 2.0, "throughput_per_s": 2000.0, "speedup": 50.0, "first_prediction_s": 1.5}
BATCH = 2000

FIRST_PREDICTION = """
import sys, time
started = time.perf_counter()
from digits.inference import InferenceService
from model_store import ModelStore
service = InferenceService(ModelStore(sys.argv[1]))
service.load()
service.predict(open(sys.argv[2], "rb").read())
print(time.perf_counter() - started)
"""


def latencies(function: Callable[[bytes], object], images: list[bytes], rounds: int) -> list[float]:
    function(images[0])  # warm-up
    times = []
    for _ in range(rounds):
        for image in images:
            started = time.perf_counter()
            function(image)
            times.append(time.perf_counter() - started)
    return times


def percentiles_ms(times: list[float]) -> dict[str, float]:
    return {"p50_ms": float(np.percentile(times, 50) * 1e3), "p99_ms": float(np.percentile(times, 99) * 1e3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=None, help="model store (default: $MODEL_STORE or ./models)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line at the end")
    args = parser.parse_args()

    scratch = tempfile.TemporaryDirectory(prefix="inference-speed-")
    paths = Paths.from_env()
    store = ModelStore(args.store or paths.model_store)
    service = InferenceService(store)
    try:
        service.load()
    except StoreError:
        print(f"no model in {store.root}: training a small one into a temporary store", file=sys.stderr)
        store = ModelStore(Path(scratch.name) / "models")
        subprocess.run([sys.executable, str(REPO / "train.py"), "--store", str(store.root), "--epochs", "1", "--seed", "1"],
                       check=True, stdout=subprocess.DEVNULL)
        service = InferenceService(store)
        service.load()

    digits, _ = load_test_set(paths)
    rng = np.random.default_rng(0)
    sets = {
        "png_28": [pictures.tiny_mnist(d, rng) for d in digits[:50]],
        "png_1000": [pictures.drawing_1000(d, rng) for d in digits[:10]],
        "jpeg_4000x3000": [pictures.photo_4000x3000(d, rng) for d in digits[:10]],
        "number6_jpeg_4000x3000": [pictures.number_photo_4000x3000(list(digits[i:i + 6]), rng) for i in range(0, 60, 6)],
    }
    rounds = {"png_28": 40, "png_1000": 4, "jpeg_4000x3000": 4, "number6_jpeg_4000x3000": 4}
    naive_rounds = {"png_28": 2, "png_1000": 1, "jpeg_4000x3000": 1, "number6_jpeg_4000x3000": 1}
    small_batch = [pictures.tiny_mnist(d, rng) for d in digits[:BATCH]]

    results: dict[str, dict[str, float]] = {"service": {}, "naive": {}}
    for name, images in sets.items():
        for key, value in percentiles_ms(latencies(service.predict, images, rounds[name])).items():
            results["service"][f"{name}_{key}"] = value
    service.predict_batch(small_batch[:100])
    started = time.perf_counter()
    service.predict_batch(small_batch)
    results["service"]["throughput_per_s"] = BATCH / (time.perf_counter() - started)

    photo = Path(scratch.name) / "photo.jpg"
    photo.write_bytes(pictures.phone_photo(digits[0], rng))
    firsts = [
        float(subprocess.run([sys.executable, "-c", FIRST_PREDICTION, str(store.root), str(photo)], capture_output=True,
                             text=True, check=True).stdout)
        for _ in range(3)
    ]
    results["service"]["first_prediction_s"] = float(np.median(firsts))

    # The naive pipeline, on the very same weights (TensorFlow is imported only now).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from PIL import Image

    from digits.training import build_keras_model

    model = build_keras_model(store.load(service.version).spec)
    model.load_weights(store.root / str(service.version) / "model.weights.h5")

    def naive(data: bytes) -> int:
        image = Image.open(io.BytesIO(data)).convert("L").resize((28, 28))
        pixels = np.asarray(image, np.float32).reshape(1, 784) / 255.0 - 0.5
        return int(np.argmax(model.predict(pixels, verbose=0)))

    for name, images in sets.items():
        for key, value in percentiles_ms(latencies(naive, images[:25], naive_rounds[name])).items():
            results["naive"][f"{name}_{key}"] = value
    started = time.perf_counter()
    for image in small_batch[:200]:
        naive(image)
    results["naive"]["throughput_per_s"] = 200 / (time.perf_counter() - started)
    speedup = results["service"]["throughput_per_s"] / results["naive"]["throughput_per_s"]

    print(f"model version {service.version} from {store.root}")
    print(f"{'':24}{'service':>12}{'naive':>12}")
    for key in results["service"]:
        naive_value = results["naive"].get(key)
        print(f"{key:24}{results['service'][key]:12.3f}{naive_value if naive_value is not None else float('nan'):12.3f}")
    print(f"{'throughput speedup':24}{speedup:12.1f}×")
    checks = {
        "png_28_p50_ms": results["service"]["png_28_p50_ms"] <= TARGETS["png_28_p50_ms"],
        "jpeg_4000x3000_p50_ms": results["service"]["jpeg_4000x3000_p50_ms"] <= TARGETS["jpeg_4000x3000_p50_ms"],
        # A six-digit number costs at most twice a single digit's time, for the same picture size.
        "number_6_vs_single": results["service"]["number6_jpeg_4000x3000_p50_ms"]
        <= TARGETS["number_6_vs_single"] * results["service"]["jpeg_4000x3000_p50_ms"],
        "throughput_per_s": results["service"]["throughput_per_s"] >= TARGETS["throughput_per_s"],
        "speedup": speedup >= TARGETS["speedup"],
        "first_prediction_s": results["service"]["first_prediction_s"] <= TARGETS["first_prediction_s"],
    }
    for key, met in checks.items():
        print(f"target {key} {'≥' if key in ('throughput_per_s', 'speedup') else '≤'} {TARGETS[key]}: {'met' if met else 'MISSED'}")
    scratch.cleanup()
    if args.json:
        print(json.dumps({**results, "speedup": speedup, "targets_met": checks}))
    service.close()


if __name__ == "__main__":
    main()
