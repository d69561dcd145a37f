"""`python -m bot predict IMAGE [IMAGE ...] [--json] [--store DIR|URL]`: read digits (and numbers) offline with the served model.

Exit status: 0 when every image was read, 1 when some were refused (each with its reason),
2 on bad usage or when the store has no usable model.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from digits.inference import InferenceService, Prediction
from digits.reading import ImageError
from digits.render import probability_chart, reading
from digits.settings import Paths
from model_store import ModelStore, StoreError, is_database_url

log = logging.getLogger(__name__)

BAR_WIDTH = 30


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot predict", description="Read the handwritten digit in each image with the served model."
    )
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files (PNG, JPEG, GIF, BMP, TIFF, WebP)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per image")
    parser.add_argument("--store", type=lambda text: text if is_database_url(text) else Path(text),
                        help="model store: a folder or a postgresql:// URL (default: $MODEL_STORE or ./models)")
    return parser.parse_args(argv)


def _read(path: Path, service: InferenceService) -> Prediction:
    """The prediction for one file; any failure is this file's ImageError, so the files after it are still read."""
    try:
        # Without O_NONBLOCK, opening a named pipe waits for a writer; pipes, folders and devices are not read at all.
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                raise ImageError("not a regular file")
            # One byte past the limit is enough to know the file is over it.
            data = stream.read(service.limits.max_bytes + 1)
    except OSError as error:
        raise ImageError(f"cannot read the file ({error.strerror or error})") from None
    try:
        return service.predict(data)
    except ImageError:
        raise
    except Exception:
        log.exception("%s: unexpected error", path)
        raise ImageError("an unexpected error (its traceback is on stderr)") from None


def _record(path: Path, prediction: Prediction) -> dict[str, object]:
    """One image's JSON object: the number and its digits; for a single digit also its probabilities, as before."""
    single = prediction.digits[0] if prediction.digit is not None else None
    return {
        "file": str(path),
        "number": prediction.number,
        "digit": prediction.digit,
        "confidence": prediction.confidence,
        "probabilities": list(single.probabilities) if single else None,
        "unsure": single.unsure if single else any(r.unsure for r in prediction.digits),
        "runner_up": single.runner_up if single else None,
        "digits": [{"digit": r.digit, "confidence": r.confidence, "probabilities": list(r.probabilities)} for r in prediction.digits],
        "version": prediction.version,
    }


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Run the CLI; return the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        store = ModelStore(args.store or Paths.from_env().model_store)
        service = InferenceService(store, workers=1)
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
                print(json.dumps(_record(path, prediction)), file=out)
                continue
            if prediction.digit is not None:
                single = prediction.digits[0]
                print(f"{path}: {reading(single.digit, single.runner_up, single.unsure)} "
                      f"({prediction.confidence:.1%} sure, model version {prediction.version})", file=out)
                for line in probability_chart(single.probabilities, BAR_WIDTH).splitlines():
                    print(f"  {line}", file=out)
            else:
                print(f"{path}: {prediction.number} ({prediction.confidence:.1%} sure, model version {prediction.version})", file=out)
                for place, read in enumerate(prediction.digits, start=1):
                    print(f"  digit {place}: {read.digit} ({read.confidence:.1%})", file=out)
    finally:
        service.close()
        store.close()
    return 1 if refused else 0
