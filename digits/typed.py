"""Typed digits: the ten digits rendered from TrueType fonts and framed as MNIST did, for training.

People post typed digits too (a screenshot, a printed page). The robust recipe mixes a few typed
digits into each batch, rendered here from the fonts of the Debian packages in `FONT_PACKAGES`
(the Makefile installs them when it can). Liberation's fonts are left out of training on purpose:
`samples.pictures` draws the user-like set's typed digits with them, so that set's typed digits
are in fonts the network never saw. Without any font the robust recipe warns and trains without
typed digits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digits.reading import ImageError, frame

# Debian packages providing the fonts (the Makefile's run and test targets install them as root).
FONT_PACKAGES = ("fonts-dejavu-core", "fonts-freefont-ttf", "fonts-liberation2")
FONT_ROOTS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".local/share/fonts")
# File-name patterns (under any root) of the fonts trained on...
TRAINING_FONTS = ("DejaVuSans*.ttf", "DejaVuSerif*.ttf", "FreeSans*.ttf", "FreeSerif*.ttf", "FreeMono*.ttf")
# ...and of the fonts kept for measuring (never trained on).
HELD_OUT_FONTS = ("Liberation*.ttf",)
RENDER_SIZE = 96  # points; the glyph is framed down to 20×20 like any picture


def find_fonts(patterns: Sequence[str] = TRAINING_FONTS, roots: Iterable[Path] = FONT_ROOTS) -> list[Path]:
    """The installed font files matching `patterns`, sorted by name (one per name)."""
    found: dict[str, Path] = {}
    for root in roots:
        if root.is_dir():
            for pattern in patterns:
                for path in root.rglob(pattern):
                    found.setdefault(path.name, path)
    return [found[name] for name in sorted(found)]


def glyph(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, digit: int, size: int = RENDER_SIZE) -> np.ndarray:
    """The digit's ink coverage in [0, 1], drawn with `font` on an empty canvas."""
    canvas = Image.new("L", (size * 2, size * 2))
    ImageDraw.Draw(canvas).text((size, size), str(digit), fill=255, font=font, anchor="mm")
    return np.asarray(canvas, np.float32) / 255.0


def typed_digits(fonts: Sequence[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Every digit in every font, framed as MNIST (uint8, n×28×28), and their labels."""
    images, labels = [], []
    for path in fonts:
        try:
            font = ImageFont.truetype(str(path), RENDER_SIZE)
        except OSError:
            continue  # not a font Pillow can read
        for digit in range(10):
            try:
                images.append(frame(glyph(font, digit)))
            except ImageError:
                continue  # the font has no glyph for it
            labels.append(digit)
    if not images:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    return np.stack(images), np.asarray(labels, np.int64)
