"""How well the served model reads single digits: user-like pictures, and digits whose stroke came apart.

    python benchmarks/single_accuracy.py [--store DIR] [--count 1000] [--seed 7] [--sets userlike,pen_skip] [--json]

Two sets, each picture read as the bot and `python -m bot predict` read it (`InferenceService`: the whole picture,
its ink cut into digits), so a single digit can come out right, as another digit, as more than one digit, or
refused (no digit found):

- `userlike`: `samples.userlike.user_like_set`, `--count` pictures of each of its 7 categories (paper photos,
  drawing apps, light on dark, typed, low-resolution scans, thick markers, slanted) made from MNIST test digits;
  the docs quote seed 7 with 1,000 a category (7,000 pictures), the defaults.
- `pen_skip`: the first `--count` MNIST test digits, each with one pen skip (`samples.pen_skip`: the ink wiped out
  within a radius of 1.6, 1.3 or 1.0 px at 28×28 around a point of the stroke where the widest gap parts it, and
  with none), as 200 px PNGs.

For each category and radius: pictures, right, read as more than one digit, refused. Uses the served version of
the store (default $MODEL_STORE; train one with `python train.py --recipe robust --store DIR` and pass `--store DIR`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from digits.inference import InferenceService, Prediction  # noqa: E402
from digits.mnist import load_test_set  # noqa: E402
from digits.reading import ImageError  # noqa: E402
from digits.settings import Paths  # noqa: E402
from model_store import ModelStore, StoreError  # noqa: E402
from samples.pen_skip import RADII, pen_skip_pictures, skip_points  # noqa: E402
from samples.userlike import CATEGORIES, user_like_set  # noqa: E402

SETS = {"userlike": "samples.userlike: 7 categories of user-like pictures of MNIST test digits",
        "pen_skip": "samples.pen_skip: MNIST test digits with one pen skip, 200 px PNGs"}


@dataclass(frozen=True)
class Row:
    """How one category's (or radius's) pictures were read."""

    name: str
    pictures: int
    right: int
    more_than_one: int  # read as a number of two digits or more
    refused: int  # no digit found (the user is told why)


def score(name: str, results: Sequence[Prediction | ImageError], labels: np.ndarray) -> Row:
    """A row of the readings of pictures of `labels` (an ImageError: refused)."""
    readings = [result.number if isinstance(result, Prediction) else None for result in results]
    return Row(name, len(readings), sum(reading == str(label) for reading, label in zip(readings, labels)),
               sum(reading is not None and len(reading) > 1 for reading in readings),
               sum(reading is None for reading in readings))


def total(rows: Sequence[Row]) -> Row:
    return Row("all", sum(r.pictures for r in rows), sum(r.right for r in rows), sum(r.more_than_one for r in rows),
               sum(r.refused for r in rows))


def print_table(title: str, rows: Sequence[Row]) -> None:
    print(f"\n{title}")
    print(f"{'':15}{'pictures':>9}{'right':>8}{'right %':>9}{'> 1 digit':>11}{'> 1 %':>8}{'refused':>9}")
    for row in rows:
        print(f"{row.name:15}{row.pictures:9,}{row.right:8,}{100 * row.right / row.pictures:9.1f}"
              f"{row.more_than_one:11,}{100 * row.more_than_one / row.pictures:8.1f}{row.refused:9,}")


def measure_userlike(service: InferenceService, images: np.ndarray, labels: np.ndarray,
                     args: argparse.Namespace) -> list[Row]:
    """Each category's row, then all of them."""
    started = time.perf_counter()
    pictures, truths, categories = user_like_set(images, labels, args.count, seed=args.seed)
    made = time.perf_counter() - started
    rows = []
    for category in CATEGORIES:  # a batch a category: reading them all in one holds every picture's candidates at once
        ours = np.asarray(categories) == category
        rows.append(score(category, service.predict_batch([p for p, mine in zip(pictures, ours) if mine]), truths[ours]))
    print_table(f"userlike ({SETS['userlike']}): {args.count:,} a category, seed {args.seed}", [*rows, total(rows)])
    print(f"{len(pictures):,} pictures made in {made:.0f} s, read in {time.perf_counter() - started - made:.0f} s")
    return rows


def measure_pen_skip(service: InferenceService, images: np.ndarray, labels: np.ndarray,
                     args: argparse.Namespace) -> list[Row]:
    """A row for each radius (the same digits and skip points), the widest first; 'none' is the digits as they are."""
    started = time.perf_counter()
    digits, truths = images[:args.count], labels[:args.count]
    points = skip_points(digits, args.seed)
    rows = [score(f"radius {radius}" if radius else "none", service.predict_batch(pen_skip_pictures(digits, points, radius)),
                  truths) for radius in RADII]
    print_table(f"pen_skip ({SETS['pen_skip']}): MNIST test digits 0-{args.count - 1:,}, seed {args.seed}", rows)
    print(f"{len(RADII) * len(digits):,} pictures made and read in {time.perf_counter() - started:.0f} s")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=None, help="model store (default: $MODEL_STORE or ./models)")
    parser.add_argument("--count", type=int, default=1000,
                        help="user-like pictures per category, and pen-skip digits (default 1000)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the pictures (default 7, the docs' figures)")
    parser.add_argument("--sets", default="userlike,pen_skip", help=f"comma-separated, of: {', '.join(SETS)}")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line at the end")
    args = parser.parse_args()
    sets = args.sets.split(",")
    if unknown := set(sets) - set(SETS):
        parser.error(f"unknown set(s): {', '.join(sorted(unknown))}")
    if not 0 < args.count <= 10_000:
        parser.error("--count must be 1 to 10000 (the MNIST test digits)")

    paths = Paths.from_env()
    service = InferenceService(ModelStore(args.store or paths.model_store))
    try:
        service.load()
    except StoreError as error:
        print(f"no model to measure: {error} (train one: python train.py --recipe robust --store DIR)", file=sys.stderr)
        return 2
    print(f"model version {service.version} from {service.store.location}")
    images, labels = load_test_set(paths)
    started = time.perf_counter()
    figures: dict[str, object] = {"version": service.version, "seed": args.seed, "count": args.count}
    if "userlike" in sets:
        rows = measure_userlike(service, images, labels, args)
        figures["userlike"] = {"rows": [asdict(row) for row in rows], "all": asdict(total(rows))}
    if "pen_skip" in sets:
        rows = measure_pen_skip(service, images, labels, args)
        figures["pen_skip"] = {"radii": list(RADII), "rows": [asdict(row) for row in rows]}
    figures["seconds"] = time.perf_counter() - started
    print(f"\n{figures['seconds']:.0f} s in all")
    if args.json:
        print(json.dumps(figures))
    service.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
