"""SentJournal: which replies of an update already went out, written the instant they did.

Between sending an album and committing its search to SQLite there is a moment in which a crash
would make the replay send the album again. The journal closes it: right after Telegram confirms
a send, one line (`<update_id> <step>`) is appended with a plain `os.write` on an O_APPEND file,
no await and no fsync: the kernel keeps it even if the process is killed the next instant
(only a power cut could lose it). On start-up the journal is read back, so a replayed update
skips the steps that already happened.
"""
from __future__ import annotations

import os
from pathlib import Path

MAX_LINES = 20_000  # kept on start-up; older entries belong to updates long done


class SentJournal:
    """`mark(update_id, step)` / `has(update_id, step)`; steps are short words ("album", "keyboard")."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._done: set[tuple[int, str]] = set()
        lines = self.path.read_text().splitlines()[-MAX_LINES:] if self.path.exists() else []
        for line in lines:
            update_id, _, step = line.partition(" ")
            if update_id.lstrip("-").isdigit() and step:
                self._done.add((int(update_id), step))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("".join(f"{line}\n" for line in lines))  # compacted
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def mark(self, update_id: int, step: str) -> None:
        """Record that `step` of `update_id` happened (synchronous: call it right after the send)."""
        self._done.add((int(update_id), step))
        os.write(self._fd, f"{int(update_id)} {step}\n".encode())

    def has(self, update_id: int, step: str) -> bool:
        return (int(update_id), step) in self._done

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
