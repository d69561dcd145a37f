"""Drawing what the model read, for people: text bar charts and small PNG pictures (no Discord here)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BAR_WIDTH = 16
PREVIEW_SCALE = 4  # the 28×28 input shown at 112×112
CELL = 40  # pixels per confusion-matrix cell


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """`███░░░░░`: `fraction` (0..1) of `width` cells filled."""
    filled = min(width, max(0, round(fraction * width)))
    return "█" * filled + "░" * (width - filled)


def probability_chart(probabilities: Sequence[float], width: int = BAR_WIDTH) -> str:
    """Ten lines, one per digit: the digit, its bar, its percentage; the most likely one marked."""
    best = int(np.argmax(probabilities))
    return "\n".join(
        f"{digit} {bar(float(p), width)} {float(p):6.1%}{' ◀' if digit == best else ''}"
        for digit, p in enumerate(probabilities)
    )


def png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def preview_png(image: np.ndarray) -> bytes:
    """The 28×28 input, enlarged with nearest-neighbour so each pixel stays a crisp square."""
    picture = Image.fromarray(np.asarray(image, dtype=np.uint8), mode="L")
    return png(picture.resize((picture.width * PREVIEW_SCALE, picture.height * PREVIEW_SCALE), Image.Resampling.NEAREST))


def strip_png(images: Sequence[np.ndarray]) -> bytes:
    """Several 28×28 inputs side by side, enlarged like `preview_png`, a thin gap between them: what the model saw of a number."""
    gap = 2
    strip = np.full((28, len(images) * (28 + gap) - gap), 40, np.uint8)
    for index, image in enumerate(images):
        strip[:, index * (28 + gap) : index * (28 + gap) + 28] = image
    picture = Image.fromarray(strip, mode="L")
    return png(picture.resize((picture.width * PREVIEW_SCALE, picture.height * PREVIEW_SCALE), Image.Resampling.NEAREST))


def confusion_png(matrix: Sequence[Sequence[int]]) -> bytes:
    """The confusion matrix as a picture: rows are true digits, columns predictions, darker = more."""
    counts = np.asarray(matrix)
    size = CELL * 11
    picture = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=14)
    small = ImageFont.load_default(size=11)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    draw.text((CELL // 2, CELL // 2), "true\npred.", fill="grey", font=ImageFont.load_default(size=10), anchor="mm", align="center")
    for digit in range(10):
        draw.text((CELL * (digit + 1) + CELL // 2, CELL // 2), str(digit), fill="black", font=font, anchor="mm")
        draw.text((CELL // 2, CELL * (digit + 1) + CELL // 2), str(digit), fill="black", font=font, anchor="mm")
    for true in range(10):
        for predicted in range(10):
            share = float(shares[true, predicted])
            # Correct answers in green, mistakes in red, both stronger with a larger share of the row.
            strength = share if true == predicted else min(1.0, share * 20)
            base = (40, 160, 70) if true == predicted else (210, 50, 50)
            colour = tuple(round(255 - (255 - c) * strength) for c in base)
            left, top = CELL * (predicted + 1), CELL * (true + 1)
            draw.rectangle((left, top, left + CELL - 1, top + CELL - 1), fill=colour, outline=(230, 230, 230))
            count = int(counts[true, predicted])
            if count:
                ink = "white" if strength > 0.6 else "black"
                draw.text((left + CELL // 2, top + CELL // 2), str(count), fill=ink, font=small, anchor="mm")
    return png(picture)


def duration(seconds: float) -> str:
    """`42 s`, `3 min`, `1 h 5 min`."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"
