"""Fixtures for emulator tests: a running emulator, a real PTB Bot pointed at it, real JPEGs."""
from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable

import pytest
from PIL import Image
from telegram import Bot

from bot.emulator import BotApiEmulator

TOKEN = "123456:TEST-TOKEN"


def make_jpeg(width: int = 640, height: int = 480, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real JPEG with a gradient, so downscaling has something to do."""
    image = Image.new("RGB", (width, height), color)
    for x in range(0, width, 8):
        for y in range(0, height, 8):
            image.putpixel((x, y), (x % 256, y % 256, (x + y) % 256))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def jpeg() -> Callable[..., bytes]:
    return make_jpeg


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url) as client:
        yield client
