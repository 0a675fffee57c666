"""Frozen serving graphs (engine/frozen.py): same outputs as the eager network, refusals named."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from engine.embedders import load_embedder
from engine.frozen import FreezeError, frozen_graph


class DictOut(nn.Module):
    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"features": x.mean(dim=(2, 3))}


def small_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(8, 4)).eval()


def test_a_frozen_graph_computes_what_the_module_does_for_any_batch_size() -> None:
    net = small_net()
    graph = frozen_graph(net, torch.randn(2, 3, 16, 16))
    for batch in (1, 3, 7):
        x = torch.randn(batch, 3, 16, 16)
        with torch.inference_mode():
            assert torch.allclose(graph(x), net(x), rtol=1e-4, atol=1e-5)


def test_freezing_leaves_the_module_alone() -> None:
    net = small_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    frozen_graph(net, torch.randn(2, 3, 16, 16))
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_a_network_that_cannot_be_traced_is_refused_by_name() -> None:
    with pytest.raises(FreezeError, match="DictOut"):
        frozen_graph(DictOut().eval(), torch.randn(2, 3, 8, 8))


def test_a_network_in_training_is_never_frozen() -> None:
    with pytest.raises(FreezeError, match="training"):
        frozen_graph(small_net().train(), torch.randn(2, 3, 16, 16))


def test_a_frozen_embedder_gives_the_eager_features() -> None:
    eager = load_embedder("random-init", "cpu", allow_random=True)
    frozen = load_embedder("random-init", "cpu", allow_random=True).freeze_for_serving()
    batch = torch.randint(0, 256, (3, 3, eager.input_size, eager.input_size), dtype=torch.uint8)
    assert frozen._graphs is not None and eager._graphs is None
    assert frozen.embed_batch(batch) == pytest.approx(eager.embed_batch(batch), abs=1e-4)


def test_bf16_autocast_is_never_bypassed_by_a_frozen_graph() -> None:
    embedder = load_embedder("random-init", "cpu", allow_random=True).freeze_for_serving()
    assert embedder.use_cpu_bf16(True)._graphs is None
    assert embedder.freeze_for_serving()._graphs is None  # an fp32 graph would ignore the autocast
