"""A real headless Chromium uses the web chat: upload a photo, see matches, press 👍, vote stored."""
from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from telegram.ext import Application

from bot.emulator import BotApiEmulator
from tests.factories import jpeg_bytes

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e .[dev])")
pytestmark = [
    pytest.mark.browser, pytest.mark.timeout(120),
    pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                       reason="needs /usr/bin/chromium and /usr/bin/chromedriver"),
]
USER_ID = 424242
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


BOT_IMAGES = "return [...document.querySelectorAll('.bot-message img')].map((img) => img.src);"
BUTTON_TEXTS = "return [...document.querySelectorAll('.inline-button')].map((b) => b.textContent);"
CLICK_BUTTON = """
const button = [...document.querySelectorAll('.inline-button')].find((b) => b.textContent === arguments[0]);
if (button) { button.click(); return true; }
return false;
"""


def drive(url: str, photo: Path) -> list[str]:
    """Blocking browser session (run in a thread so the emulator and bot keep serving)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    try:
        wait = WebDriverWait(driver, 60)
        driver.get(f"{url}/?user_id={USER_ID}")
        file_input = driver.find_element(By.ID, "photo-input")
        driver.execute_script("arguments[0].hidden = false;", file_input)  # the 📎 label hides it
        file_input.send_keys(str(photo))
        driver.find_element(By.ID, "send-button").click()
        # The page re-renders on every update, so elements are found and clicked in one script.
        wait.until(lambda d: d.execute_script(BOT_IMAGES))
        wait.until(lambda d: d.execute_script(CLICK_BUTTON, "#1 👍"))
        wait.until(lambda d: "#1 ✅👍" in d.execute_script(BUTTON_TEXTS))
        return list(driver.execute_script(BOT_IMAGES))
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


async def test_browser_uploads_a_photo_and_votes(emu: BotApiEmulator, app: Application, settings,
                                                 tmp_path: Path) -> None:
    photo = tmp_path / "thing.jpg"
    photo.write_bytes(jpeg_bytes("disc", "orange", 160, seed=21))
    images = await asyncio.to_thread(drive, emu.url, photo)
    assert len(images) >= 1 and all("/webchat/api/file/" in src for src in images)
    with sqlite3.connect(settings.votes_path) as db:
        rows = db.execute("SELECT v.user_id, s.rank, v.value FROM votes v JOIN shown s USING (shown_id)").fetchall()
    assert rows == [(USER_ID, 1, 1)]
