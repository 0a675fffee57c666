"""Every bad input fails with InvalidImageError; good ones come out upright RGB."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from engine.errors import InvalidImageError
from engine.images import crop_to_bbox, load_image
from tests.factories import animated_gif, draw_product, encode, jpeg_bytes, truncated_jpeg


@pytest.mark.parametrize(
    ("make_bytes", "message"),
    [
        (lambda: b"", "empty"),
        (lambda: b"hello, I am a text file\n" * 20, "not an image"),
        (lambda: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"0" * 200, "not an image"),
        (truncated_jpeg, "corrupt or truncated"),
        (lambda: jpeg_bytes()[:40], "not an image|corrupt or truncated"),
        (animated_gif, "GIF files are not supported"),
        (lambda: encode(draw_product("disc", (1, 2, 3)), "GIF"), "GIF files are not supported"),
    ],
)
def test_bad_inputs_raise_one_clear_error(make_bytes, message: str) -> None:
    with pytest.raises(InvalidImageError, match=message):
        load_image(make_bytes())


def test_decompression_bomb_is_refused_before_decoding(huge_png_bytes: bytes) -> None:
    with pytest.raises(InvalidImageError, match="too large"):
        load_image(huge_png_bytes, max_pixels=40_000_000)


def test_missing_file_is_an_invalid_image(tmp_path) -> None:
    with pytest.raises(InvalidImageError, match="not found"):
        load_image(tmp_path / "nope.jpg")


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "LA", "CMYK", "I;16"])
def test_any_mode_becomes_rgb(mode: str) -> None:
    source = draw_product("disc", (200, 30, 30), 64)
    converted = source.convert("L").convert(mode) if mode == "I;16" else source.convert(mode)
    image = load_image(encode(converted, "PNG" if mode != "CMYK" else "JPEG"))
    assert image.mode == "RGB" and image.size == (64, 64)


def test_transparent_pixels_become_white() -> None:
    image = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    assert load_image(encode(image, "PNG")).getpixel((3, 3)) == (255, 255, 255)


def test_exif_orientation_is_applied() -> None:
    wide = Image.new("RGB", (120, 60), (10, 200, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    data = encode(wide, "JPEG", exif=exif.tobytes())
    assert load_image(data).size == (60, 120)


def test_bbox_crop_and_clamping() -> None:
    image = Image.new("RGB", (100, 50))
    assert crop_to_bbox(image, (10, 5, 60, 45)).size == (50, 40)
    assert crop_to_bbox(image, (-20, -20, 500, 500)).size == (100, 50)
    assert crop_to_bbox(image, (30, 30, 30, 30)).size == (100, 50)  # degenerate box: keep all
    assert load_image(encode(image, "PNG"), bbox=(0, 0, 20, 10)).size == (20, 10)


def test_webp_and_png_are_accepted() -> None:
    picture = draw_product("square", (20, 20, 200), 48)
    for fmt in ("WEBP", "PNG", "BMP"):
        assert load_image(encode(picture, fmt)).size == (48, 48)


def test_pil_input_is_checked_for_size_too() -> None:
    with pytest.raises(InvalidImageError, match="too large"):
        load_image(Image.new("RGB", (300, 300)), max_pixels=1000)


def test_stream_of_jpeg_bytes_roundtrip() -> None:
    data = jpeg_bytes("bar", "teal", 80)
    assert load_image(io.BytesIO(data).getvalue()).size == (80, 80)
