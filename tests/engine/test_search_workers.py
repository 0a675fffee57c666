"""How many searches the bot runs side by side (engine.serving.auto_workers)."""
from __future__ import annotations

import pytest
import torch

from engine.embedders import load_embedder
from engine.search import Engine
from engine.serving import auto_workers, usable_cores
from tests.factories import make_catalog


@pytest.fixture
def cpu_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    catalog = make_catalog(tmp_path_factory.mktemp("workers"), n=2)
    return Engine(catalog, {"random-init": load_embedder("random-init", "cpu", allow_random=True)}, {})


@pytest.mark.parametrize(("cores", "threads", "workers"), [(2, 1, 2), (2, 2, 1), (16, 4, 4), (1, 1, 1), (2, 4, 1)])
def test_a_cpu_runs_as_many_searches_as_its_cores_hold_forwards(cpu_engine: Engine, cores: int, threads: int,
                                                                  workers: int) -> None:
    assert auto_workers(cpu_engine, cores, threads) == workers


def test_by_default_the_cores_and_torch_threads_decide(cpu_engine: Engine) -> None:
    assert auto_workers(cpu_engine) == max(1, usable_cores() // torch.get_num_threads())
