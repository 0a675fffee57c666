"""How to run ingestion on a device: batch size, decode workers, torch threads, CPU precision.

On a GPU the model is fast and the CPU only decodes: big batches, a worker per spare core. On a
CPU the model and the decoders share the same few cores, and oversubscribing them (torch's
OpenMP threads + worker processes > cores) makes OpenMP threads wait on each other: the plan
gives the model every core but the decoders' share (none on 2 cores: decode inline), and small
batches that stay in cache.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@dataclass(frozen=True)
class IngestPlan:
    """Knobs of one ingestion run (engine.ingest.embed_catalog's arguments and torch's threads)."""

    batch_size: int
    num_workers: int
    torch_threads: int
    cpu_bf16: bool

    def apply(self) -> None:
        """Set torch's intra-op threads for this process (the model's threads)."""
        torch.set_num_threads(self.torch_threads)

    @contextmanager
    def applied(self) -> Iterator[None]:
        """`apply` for the `with` body, then torch's previous thread count again."""
        before = torch.get_num_threads()
        self.apply()
        try:
            yield
        finally:
            torch.set_num_threads(before)


def cpu_has_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU has bf16 units that oneDNN uses (AVX-512 BF16 or AMX)."""
    try:
        flags = cpuinfo.read_text()
    except OSError:
        return False
    return any(f" {flag}" in flags for flag in BF16_FLAGS)


def plan_for(device: torch.device | str, cores: int | None = None, *, bf16: bool | None = None) -> IngestPlan:
    """The plan for `device` on a machine with `cores` CPUs (default: this one's)."""
    cores = cores or os.cpu_count() or 1
    if torch.device(device).type == "cuda":
        return IngestPlan(batch_size=64, num_workers=max(1, cores - 1), torch_threads=1, cpu_bf16=False)
    # Decoding costs a fraction of the model's time. On ≤ 2 cores a worker process only takes
    # cycles from the model's threads: decoding inline was fastest (docs/PERFORMANCE.md §9).
    workers = 0 if cores <= 2 else (1 if cores <= 4 else cores // 4)
    return IngestPlan(batch_size=16, num_workers=workers, torch_threads=max(1, cores),
                      cpu_bf16=cpu_has_bf16() if bf16 is None else bf16)
