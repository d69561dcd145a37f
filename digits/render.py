"""Drawing what the model read, for people: text bar charts and small PNG pictures (no Discord here)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from network.calibration import ReliabilityBin

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


def reading(digit: int, runner_up: int, unsure: bool) -> str:
    """What the model read, in words: `it's a 4`, or when unsure `probably a 4, maybe a 9`."""
    return f"probably a {digit}, maybe a {runner_up}" if unsure else f"it's a {digit}"


def reliability_png(bins: Sequence[ReliabilityBin], ece: float) -> bytes:
    """The reliability diagram: per confidence bin, how often the answers were right (bars) against the diagonal.

    Bars under the diagonal are overconfident bins; a bin's bar is faint when it holds few answers.
    """
    size, margin = 400, 50
    picture = Image.new("RGB", (size + margin + 20, size + margin + 40), "white")
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=12)
    left, top, bottom = margin, 30, 30 + size
    draw.text((left + size // 2, 14), f"Reliability (calibrated) · ECE {ece:.2%}", fill="black", font=font, anchor="mm")
    total = max(1, sum(b.count for b in bins))
    for b in bins:
        x0, x1 = left + round(b.low * size), left + round(b.high * size)
        if b.count:
            share = b.count / total
            strength = 0.35 + 0.65 * min(1.0, share * 10)
            colour = tuple(round(255 - (255 - c) * strength) for c in (60, 110, 200))
            draw.rectangle((x0 + 1, bottom - round(b.accuracy * size), x1 - 1, bottom), fill=colour, outline=(40, 70, 150))
            draw.line((x0 + 1, bottom - round(b.confidence * size), x1 - 1, bottom - round(b.confidence * size)), fill=(210, 50, 50), width=2)
    draw.line((left, bottom, left + size, top), fill="grey", width=1)  # perfect calibration
    draw.rectangle((left, top, left + size, bottom), outline="black")
    for tick in range(0, 11, 2):
        x, y = left + tick * size // 10, bottom - tick * size // 10
        draw.text((x, bottom + 12), f"{tick / 10:g}", fill="black", font=font, anchor="mm")
        draw.text((left - 16, y), f"{tick / 10:g}", fill="black", font=font, anchor="mm")
    draw.text((left + size // 2, bottom + 30), "confidence (red: mean in bin)", fill="black", font=font, anchor="mm")
    draw.text((12, top + size // 2), "accuracy", fill="black", font=font, anchor="mm")
    return png(picture)


def duration(seconds: float) -> str:
    """`42 s`, `3 min`, `1 h 5 min`."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def grid_png(images: Sequence[np.ndarray], captions: Sequence[str], columns: int = 8) -> bytes:
    """28×28 inputs (0..1 or 0..255) in a grid, each enlarged 3× above its caption: the latest community corrections."""
    scale, caption_height, gap = 3, 16, 6
    cell_width, cell_height = 28 * scale + gap, 28 * scale + caption_height + gap
    rows = max(1, -(-len(images) // columns))
    picture = Image.new("L", (max(1, min(len(images), columns)) * cell_width + gap, rows * cell_height + gap), 255)
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=11)
    for index, (image, caption) in enumerate(zip(images, captions)):
        array = np.asarray(image, dtype=np.float32)
        pixels = np.clip(array * 255 if array.max(initial=0) <= 1 else array, 0, 255).astype(np.uint8)
        left, top = gap + (index % columns) * cell_width, gap + (index // columns) * cell_height
        enlarged = Image.fromarray(pixels, mode="L").resize((28 * scale, 28 * scale), Image.Resampling.NEAREST)
        picture.paste(enlarged, (left, top))
        draw.text((left + 14 * scale, top + 28 * scale + caption_height // 2), caption, fill=0, font=font, anchor="mm")
    return png(picture)
