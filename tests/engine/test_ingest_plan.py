"""The ingestion plan: the model gets the cores, decode workers their share, threads restored."""
from __future__ import annotations

import torch

from engine.ingest.plan import plan_for


def test_ingest_plan_gives_the_model_the_cores_and_restores_threads() -> None:
    cpu, gpu = plan_for("cpu", cores=2, bf16=False), plan_for("cuda", cores=16)
    assert (cpu.num_workers, cpu.torch_threads, cpu.cpu_bf16) == (0, 2, False)
    assert plan_for("cpu", cores=4).num_workers == 1 and plan_for("cpu", cores=32).num_workers == 8
    assert gpu.num_workers == 15 and gpu.batch_size > cpu.batch_size
    before = torch.get_num_threads()
    with plan_for("cpu", cores=3).applied():
        assert torch.get_num_threads() == 3
    assert torch.get_num_threads() == before
