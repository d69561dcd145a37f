"""`python -m bot predict IMAGE [IMAGE ...] [--json] [--store DIR]`: read digits offline with the served model.

Exit status: 0 when every image was read, 1 when some were refused (each with its reason),
2 on bad usage or when the store has no usable model.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from digits.images import ImageError
from digits.inference import InferenceService, Prediction
from digits.render import probability_chart, reading
from digits.settings import Paths
from model_store import ModelStore, StoreError

BAR_WIDTH = 30


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot predict", description="Read the handwritten digit in each image with the served model."
    )
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files (PNG, JPEG, GIF, BMP, TIFF, WebP)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per image")
    parser.add_argument("--store", type=Path, help="model store folder (default: $MODEL_STORE or ./models)")
    return parser.parse_args(argv)


def _read(path: Path, service: InferenceService) -> Prediction:
    try:
        with open(path, "rb") as stream:
            # One byte past the limit is enough to know the file is over it.
            data = stream.read(service.limits.max_bytes + 1)
    except OSError as error:
        raise ImageError(f"cannot read the file ({error.strerror or error})") from None
    return service.predict(data)


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Run the CLI; return the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    store = ModelStore(args.store or Paths.from_env().model_store)
    service = InferenceService(store, workers=1)
    try:
        service.load()
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    refused = 0
    try:
        for path in args.images:
            try:
                prediction = _read(path, service)
            except ImageError as error:
                refused += 1
                if args.json:
                    print(json.dumps({"file": str(path), "error": str(error)}), file=out)
                else:
                    print(f"{path}: refused: {error}", file=out)
                continue
            if args.json:
                record = {
                    "file": str(path),
                    "digit": prediction.digit,
                    "confidence": prediction.confidence,
                    "probabilities": list(prediction.probabilities),
                    "unsure": prediction.unsure,
                    "runner_up": prediction.runner_up,
                    "version": prediction.version,
                }
                print(json.dumps(record), file=out)
            else:
                print(f"{path}: {reading(prediction.digit, prediction.runner_up, prediction.unsure)} "
                      f"({prediction.confidence:.1%} sure, model version {prediction.version})", file=out)
                for line in probability_chart(prediction.probabilities, BAR_WIDTH).splitlines():
                    print(f"  {line}", file=out)
    finally:
        service.close()
    return 1 if refused else 0
