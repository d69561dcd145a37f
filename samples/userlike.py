"""A user-like set: labelled pictures as varied as real posts, for measuring recipes (never trained on).

Seven categories, each made from MNIST *test* digits (or, for typed digits, from fonts the training
never uses: `digits.typed.HELD_OUT_FONTS`, else Pillow's own font):

    paper_photo     phone photos of ink on paper (uneven light, the table or a shadow at the edge)
    drawing_app     drawing-app exports: big canvases, transparent canvases, coloured ink
    light_on_dark   chalk-like light digits on dark backgrounds
    typed           digits typed in a font, screenshot or photographed
    low_res_scan    scans at a low resolution: the digit only 8-12 px tall, blurred, JPEG-compressed
    thick_marker    thick felt-tip strokes
    slanted         digits written with a strong slant (sheared)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageFilter, ImageFont
from scipy import ndimage

from digits.typed import HELD_OUT_FONTS, find_fonts, glyph
from samples import pictures

CATEGORIES = ("paper_photo", "drawing_app", "light_on_dark", "typed", "low_res_scan", "thick_marker", "slanted")


def low_res_scan(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    small = int(rng.integers(8, 13))
    ink = Image.fromarray(digit).resize((small, small), Image.Resampling.BILINEAR)
    ink = ink.resize((small * 4, small * 4), Image.Resampling.NEAREST).filter(ImageFilter.GaussianBlur(1.5))
    page = pictures.place(np.asarray(ink, np.float32) / 255, (small * 4 + 30, small * 4 + 30), rng)
    scan = pictures.on_paper(page, rng, paper=(245, 245, 240), gradient=0.05, noise=4)
    return pictures.encode(Image.fromarray(scan).convert("L"), "JPEG", quality=int(rng.integers(35, 70)))


def _thick_marker(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    width = int(rng.choice([11, 15, 19]))
    ink = ndimage.maximum_filter((pictures.upscale(digit, 280) * 255).astype(np.uint8), size=width, mode="nearest")
    photo = pictures.on_paper(ink.astype(np.float32) / 255, rng, gradient=0.15, noise=3)
    return pictures.encode(Image.fromarray(photo), "PNG")


def _slanted(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    shear = float(rng.choice([-1, 1]) * rng.uniform(0.3, 0.5))
    size = 280
    ink = Image.fromarray((pictures.upscale(digit, size) * 255).astype(np.uint8))
    pad = Image.new("L", (size * 2, size))
    pad.paste(ink, (size // 2, 0))
    sheared = pad.transform(pad.size, Image.Transform.AFFINE, (1, shear, -shear * size / 2, 0, 1, 0), Image.Resampling.BILINEAR)
    return pictures.encode(pictures.black_on_white(np.asarray(sheared, np.float32) / 255), "PNG")


def _choose(*styles: pictures.Style) -> pictures.Style:
    def style(digit: np.ndarray, rng: np.random.Generator) -> bytes:
        return styles[int(rng.integers(len(styles)))](digit, rng)
    return style


HANDWRITTEN: dict[str, pictures.Style] = {
    "paper_photo": _choose(pictures.phone_photo, pictures.paper_on_table, pictures.shadowed_corner, pictures.tight_crop_photo,
                           pictures.wide_table, pictures.shadow_across, pictures.ruled_paper, pictures.squared_paper,
                           pictures.pencil, pictures.second_object, pictures.paper_edge),
    "drawing_app": _choose(pictures.drawing_1000, pictures.transparent_canvas, pictures.coloured_ink, pictures.off_centre,
                           pictures.tight_crop_drawing),
    "light_on_dark": _choose(pictures.white_on_black_photo, pictures.tiny_inverted),
    "low_res_scan": low_res_scan,
    "thick_marker": _thick_marker,
    "slanted": _slanted,
}


def held_out_fonts() -> list[ImageFont.FreeTypeFont | ImageFont.ImageFont]:
    """Fonts never trained on: Liberation's where installed, and Pillow's own."""
    fonts: list[ImageFont.FreeTypeFont | ImageFont.ImageFont] = [ImageFont.truetype(str(path), 96) for path in find_fonts(HELD_OUT_FONTS)]
    return fonts + [ImageFont.load_default(size=96)]


def typed_picture(label: int, rng: np.random.Generator, fonts: list[ImageFont.FreeTypeFont | ImageFont.ImageFont]) -> bytes:
    """A digit typed in one of `fonts`: a clean screenshot, or a photo of the printed page."""
    ink = glyph(fonts[int(rng.integers(len(fonts)))], label)
    if rng.random() < 0.5:
        return pictures.encode(pictures.black_on_white(ink), "PNG")
    page = pictures.place(ink, (ink.shape[0] + 60, ink.shape[1] + 80), rng)
    return pictures.encode(Image.fromarray(pictures.on_paper(page, rng)), "JPEG", quality=85)


def user_like_set(images: np.ndarray, labels: np.ndarray, per_category: int, seed: int = 0,
                  progress: Callable[[str], None] = lambda category: None) -> tuple[list[bytes], np.ndarray, list[str]]:
    """`per_category` pictures of each category from the given (test) digits: (encoded pictures, labels, categories)."""
    rng = np.random.default_rng(seed)
    fonts = held_out_fonts()
    pictures_out: list[bytes] = []
    labels_out: list[int] = []
    categories: list[str] = []
    for category in CATEGORIES:
        progress(category)
        pick = rng.choice(len(images), per_category, replace=False)
        for index in pick:
            label = int(labels[index])
            if category == "typed":
                pictures_out.append(typed_picture(label, rng, fonts))
            else:
                pictures_out.append(HANDWRITTEN[category](images[index], rng))
            labels_out.append(label)
            categories.append(category)
    return pictures_out, np.asarray(labels_out, np.int64), categories
