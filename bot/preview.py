"""The user's photo with what was searched drawn on it: the searched product framed and numbered
1, the other products the localiser found numbered 2, 3… (their buttons say "Search item 2")."""
from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from engine.images import load_image

Box = tuple[float, float, float, float]
PREVIEW_SIDE = 800
SEARCHED, OTHER = (40, 220, 90), (255, 210, 40)


def boxed_preview(photo: bytes, photo_size: tuple[int, int], searched: Box, others: Sequence[Box] = ()) -> bytes:
    """A JPEG (longest side ≤ PREVIEW_SIDE) of `photo` with the boxes drawn.

    The boxes are in the pixels of the full-size photo (`photo_size`, as the engine reports them).
    """
    image = load_image(photo, max_side=PREVIEW_SIDE)
    if max(image.size) > PREVIEW_SIDE:
        shrink = PREVIEW_SIDE / max(image.size)
        image = image.resize((round(image.width * shrink), round(image.height * shrink)), Image.Resampling.BILINEAR)
    scale = image.width / photo_size[0]
    draw = ImageDraw.Draw(image)
    width = max(3, round(max(image.size) / 200))
    font = ImageFont.load_default(size=max(14, width * 6))
    for number, (box, colour) in enumerate([(searched, SEARCHED), *((b, OTHER) for b in others)], start=1):
        x1, y1, x2, y2 = (v * scale for v in box)
        draw.rectangle((x1, y1, x2, y2), outline=colour, width=width)
        draw.text((x1 + width + 2, y1 + width), str(number), fill=colour, font=font, stroke_width=2,
                  stroke_fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
