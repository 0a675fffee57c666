"""`python -m bot` as a real process: it serves, and SIGTERM lets the search in flight finish."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.emulator import BotApiEmulator
from engine.settings import Settings
from tests.bot.conftest import TOP_K, keyboard
from tests.factories import jpeg_bytes

pytestmark = pytest.mark.timeout(120)


async def test_sigterm_drains_the_search_in_flight(engine_settings: Settings, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for entry in Path(engine_settings.data_dir).iterdir():  # the test catalog and indexes; own votes
        (data_dir / entry.name).symlink_to(entry.resolve())
    async with BotApiEmulator(token="42:PROCESS-TEST") as emu:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": emu.token, "DOPE_TELEGRAM_BASE_URL": emu.base_url,
               "DOPE_TELEGRAM_BASE_FILE_URL": emu.base_file_url, "DOPE_DATA_DIR": str(data_dir),
               "DOPE_EMBEDDERS": "random-init", "DOPE_ALLOW_RANDOM_WEIGHTS": "true", "DOPE_DEVICE": "cpu",
               "DOPE_TOP_K": str(TOP_K), "DOPE_RELOAD_POLL_SECONDS": "0"}
        log = tmp_path / "bot.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", env=env,
                                                           stdout=out, stderr=out)
        try:
            assert await emu.state.wait_until(lambda: emu.calls["getupdates"] > 0, timeout=60), log.read_text()
            alice = emu.user(1001)
            await alice.send_photo(jpeg_bytes("disc", "red", 90, 1))
            assert await emu.state.wait_until(lambda: "upload_photo" in alice.chat_actions, timeout=30)
            process.send_signal(signal.SIGTERM)  # mid-search
            assert await asyncio.wait_for(process.wait(), timeout=60) == 0
        finally:
            if process.returncode is None:
                process.kill()
        replies = await alice.wait_for_messages(TOP_K + 1, timeout=1)
        assert keyboard(replies[-1])  # answered before the process exited
        assert "Traceback" not in log.read_text()
