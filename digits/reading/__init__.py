"""Reading pictures as people post them: a file → the MNIST convention the network was trained on, one stage a module.

    decode.py        the file → one channel in which the digit stands out (limits, first frame, EXIF, shrinking)
    ink.py           that channel → ink coverage in [0, 1]: lighting, polarity, faint lines and clutter removed
    clutter.py       what is not handwriting: a table or shadow along the edge, a pen, the paper's edge, a coin
    segmentation.py  the ink → pieces left to right; any run of pieces framed as a 28×28 MNIST digit
    splitting.py     which runs of pieces are a number's digits, with the network's confidence in each
    pixels.py        small array tools the stages share

`to_mnist` reads a picture of one digit; `segment` cuts a picture's ink into pieces for reading it as a number (the
inference service reads the candidate runs and lets `splitting` choose). Every failure is an `ImageError` whose
message can be shown to the user as is. Nothing here knows the network, the store or Discord.
"""

from __future__ import annotations

import numpy as np

from digits.reading.decode import ImageError, ImageLimits, decode
from digits.reading.ink import isolate_ink
from digits.reading.segmentation import MAX_DIGITS, Segmentation, frame, segment_ink, too_many_digits

__all__ = ["MAX_DIGITS", "ImageError", "ImageLimits", "Segmentation", "frame", "segment", "to_mnist", "too_many_digits"]


def to_mnist(data: bytes, limits: ImageLimits = ImageLimits()) -> np.ndarray:
    """The digit in an encoded image as a 28×28 uint8 MNIST image (white digit on black); ImageError if none."""
    return frame(isolate_ink(decode(data, limits)))


def segment(data: bytes, limits: ImageLimits = ImageLimits()) -> Segmentation:
    """The ink of an encoded image cut into pieces for reading it as a number; ImageError if there is none."""
    return segment_ink(isolate_ink(decode(data, limits)))
