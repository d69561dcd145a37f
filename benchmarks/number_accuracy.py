"""How well the served model reads numbers: whole-number and per-digit accuracy by style and length.

    python benchmarks/number_accuracy.py [--store DIR] [--count 200] [--seed 0] [--lengths 2,3,4,5,6] [--json]

Numbers of 2 to 6 random MNIST *test* digits are drawn as `samples.pictures.NUMBER_STYLES` (paper photos,
drawing-app exports, light on dark: size, baseline, slant and gaps jittered), read by `InferenceService`, and
scored as `samples.numbers` defines: whole-number accuracy, per-digit accuracy (a number read with the wrong
count of digits has all its digits wrong), aligned per-digit accuracy (a digit missed or added costs one digit),
the share with the right count of digits, and the raw accuracy of the network on the same digits as 28×28
images, with the issue's targets (whole ≥ 0.85·raw^length in each row; per digit ≥ raw − 0.03 over all the
digits, and shown for each row). Uses the served version of the store (default $MODEL_STORE; train one with
`python train.py --recipe robust --store DIR` and pass `--store DIR`). Exits 1 if some target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from digits.inference import InferenceService  # noqa: E402
from digits.mnist import load_test_set  # noqa: E402
from digits.settings import Paths  # noqa: E402
from model_store import ModelStore, StoreError  # noqa: E402
from network.architecture import normalize  # noqa: E402
from samples.numbers import NumberScores, all_digits, measure  # noqa: E402
from samples.pictures import NUMBER_STYLES  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=None, help="model store (default: $MODEL_STORE or ./models)")
    parser.add_argument("--count", type=int, default=200, help="numbers per style and length (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated numbers (default 0)")
    parser.add_argument("--lengths", default="2,3,4,5,6", help="comma-separated number lengths (default 2,3,4,5,6)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line at the end")
    args = parser.parse_args()
    lengths = [int(length) for length in args.lengths.split(",")]

    paths = Paths.from_env()
    service = InferenceService(ModelStore(args.store or paths.model_store))
    try:
        service.load()
    except StoreError as error:
        print(f"no model to measure: {error} (train one: python train.py --recipe robust --store DIR)", file=sys.stderr)
        return 2
    images, labels = load_test_set(paths)
    raw_right = service.store.load(service.version).network().predict(normalize(images)).argmax(axis=1) == labels
    print(f"model version {service.version} from {service.store.root}: raw MNIST test accuracy {raw_right.mean():.4f}")
    print(f"{args.count} numbers per style and length, seed {args.seed}")
    print(f"{'style':15}{'length':>7}{'whole':>8}{'target':>8}{'digits':>8}{'target':>8}{'aligned':>8}{'raw':>8}{'segm.':>8}  met")

    rng = np.random.default_rng(args.seed)
    rows: list[dict[str, object]] = []
    scored: list[NumberScores] = []
    started = time.perf_counter()
    for name, style in NUMBER_STYLES.items():
        for length in lengths:
            scores = measure(service, raw_right, images, labels, [style], length, args.count, rng)
            scored.append(scores)
            print(f"{name:15}{length:7}{scores.whole:8.3f}{scores.whole_target:8.3f}{scores.per_digit:8.3f}"
                  f"{scores.per_digit_target:8.3f}{scores.aligned:8.3f}{scores.raw:8.3f}{scores.segmented:8.3f}  {'yes' if scores.met else 'NO'}",
                  flush=True)
            rows.append({"style": name, "length": length, "numbers": scores.numbers, "whole": scores.whole,
                         "whole_target": scores.whole_target, "per_digit": scores.per_digit,
                         "per_digit_target": scores.per_digit_target, "aligned": scores.aligned, "raw": scores.raw,
                         "segmented": scores.segmented, "met": scores.met})
    seconds = time.perf_counter() - started
    total = all_digits(scored)
    whole_met = all(s.whole_met for s in scored)
    met = whole_met and total.met
    print(f"all digits: per digit {total.per_digit:.4f}, raw {total.raw:.4f}, target {total.target:.4f}; "
          f"rows meeting both targets: {sum(s.met for s in scored)} of {len(scored)}")
    print(f"{len(rows) * args.count} numbers in {seconds:.0f} s; whole-number targets {'met' if whole_met else 'NOT met'}; "
          f"every target {'met' if met else 'NOT met'}")
    if args.json:
        print(json.dumps({"version": service.version, "seed": args.seed, "count": args.count,
                          "raw_test_accuracy": float(raw_right.mean()), "rows": rows,
                          "all_digits": {"per_digit": total.per_digit, "raw": total.raw}, "all_met": met}))
    service.close()
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
