"""The simulated community of `benchmarks/community.py`: handwriting that is not MNIST's, reproducibly.

Each picture is an MNIST *test* digit (never trained on) re-drawn the community's way: a thick felt-tip marker
(strokes widened by 5 or 7 px on a 112 px drawing, 4× MNIST's size) and a strong slant (sheared by 0.35-0.55, always
to the right), photographed on paper as a PNG.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from samples import pictures

SIZE = 112


def community_picture(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """One MNIST digit (uint8 28×28) as the community writes it: a PNG photo of a thick, slanted digit."""
    width = int(rng.choice([5, 7]))
    shear = float(rng.uniform(0.35, 0.55))
    ink = Image.fromarray(ndimage.maximum_filter((pictures.upscale(digit, SIZE) * 255).astype(np.uint8), size=width, mode="nearest"))
    pad = Image.new("L", (SIZE * 2, SIZE))
    pad.paste(ink, (SIZE // 2, 0))
    sheared = pad.transform(pad.size, Image.Transform.AFFINE, (1, shear, -shear * SIZE / 2, 0, 1, 0),
                            Image.Resampling.BILINEAR)
    photo = pictures.on_paper(np.asarray(sheared, np.float32) / 255, rng, gradient=0.15, noise=3)
    return pictures.encode(Image.fromarray(photo), "PNG")
