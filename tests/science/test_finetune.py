"""Transfer learning: frozen layers stay frozen, the head learns, checkpoints load as ft:<name>."""
from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.catalog import CatalogStore
from engine.embedders import load_embedder
from engine.embedders.checkpoints import load_checkpoint
from engine.training.finetune import (
    FinetuneConfig,
    build_model,
    finetune,
    pixel_forward,
    set_train_mode,
    train_step,
)
from scripts import finetune as finetune_script
from tests.factories import COLOURS, draw_product

# the package re-exports the function `finetune`, which hides the module of the same name
finetune_module = importlib.import_module("engine.training.finetune")


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_frozen_trunk_is_unchanged_by_a_training_step_and_the_head_learns() -> None:
    config = FinetuneConfig(name="t", backbone="small-cnn", input_size=32, hidden=32, allow_random=True)
    net, backbone = build_model(config, n_classes=3)
    assert all(not p.requires_grad for p in net.trunk.parameters())
    assert all(p.requires_grad for p in net.dense.parameters()) and net.classifier.weight.requires_grad
    trunk_before, dense_before = _snapshot(net.trunk), _snapshot(net.dense)
    optimizer = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-2)
    set_train_mode(net, True)
    assert not net.trunk.training and net.dense.training  # BatchNorm statistics stay put
    pixels = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    train_step(pixel_forward(net, backbone, torch.device("cpu"), flip=True), optimizer, pixels,
               torch.tensor([0, 1, 2, 0, 1, 2, 0, 1]))
    for key, value in net.trunk.state_dict().items():  # weights *and* BN running stats
        assert torch.equal(value, trunk_before[key]), key
    assert any(not torch.equal(v, dense_before[k]) for k, v in net.dense.state_dict().items())


def test_from_scratch_trains_the_conv_layers_too() -> None:
    config = FinetuneConfig(name="t", backbone="small-cnn", input_size=32, hidden=32, from_scratch=True)
    net, backbone = build_model(config, n_classes=2)
    before = _snapshot(net.trunk)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-2)
    set_train_mode(net, True)
    train_step(pixel_forward(net, backbone, torch.device("cpu"), flip=False), optimizer,
               torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8), torch.tensor([0, 1, 0, 1]))
    assert any(not torch.equal(v, before[k]) for k, v in net.trunk.state_dict().items() if v.is_floating_point())


def test_a_frozen_finetune_checkpoint_round_trips_into_the_engine(toy_catalog: Path) -> None:
    config = FinetuneConfig(name="toy-head", backbone="small-cnn", input_size=32, hidden=24, epochs=2,
                            batch_size=16, allow_random=True)
    with CatalogStore(toy_catalog / "catalog.sqlite") as catalog:
        result = finetune(config, catalog, toy_catalog / "models", device="cpu", workers=0, progress=False)
    payload = load_checkpoint(result.path)
    assert payload["kind"] == "classifier-head"
    saved = payload["config"]
    assert saved["frozen"] and not saved["from_scratch"] and saved["epochs"] == 2
    assert saved["categories"] and saved["catalog_id"] and saved["seed"] == 0 and 0 <= saved["val_acc"] <= 1
    initial, _ = build_model(config, len(saved["categories"]))  # the same seeded random trunk
    for key, value in initial.trunk.state_dict().items():
        assert torch.equal(payload["state_dict"][f"trunk.{key}"], value), key
    embedder = load_embedder("ft:toy-head", "cpu", models_dir=toy_catalog / "models")
    image = draw_product("disc", COLOURS["red"], 64)
    features = embedder.embed_images([image])
    assert features.shape == (1, 24)
    net, _ = build_model(config, len(saved["categories"]))
    net.load_state_dict(payload["state_dict"])
    net.eval()
    with torch.no_grad():
        expected = net.embed(embedder.normalise(embedder.preprocess(image)[None])).numpy()
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-5)
    assert (features >= 0).all()  # the dense layer's ReLU output


def test_an_interrupted_run_resumes_to_the_same_result(toy_catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    common = ["--data-dir", str(toy_catalog), "--backbone", "small-cnn", "--from-scratch", "--input-size", "32",
              "--hidden", "16", "--batch-size", "16", "--workers", "0", "--quiet", "--patience", "5",
              "--epochs", "3"]
    assert finetune_script.main([*common, "--name", "a"]) == 0
    real_epoch, calls = finetune_module._run_epoch, []

    def crash_in_epoch_two(*args: object, **kwargs: object) -> float:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the power goes out during epoch 2
        return real_epoch(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(finetune_module, "_run_epoch", crash_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        finetune_script.main([*common, "--name", "b"])
    monkeypatch.setattr(finetune_module, "_run_epoch", real_epoch)
    assert finetune_script.main([*common, "--name", "b", "--resume"]) == 0
    a = load_checkpoint(toy_catalog / "models" / "a.pt")
    b = load_checkpoint(toy_catalog / "models" / "b.pt")
    assert a["config"]["history"] == b["config"]["history"]
    for key, value in a["state_dict"].items():
        torch.testing.assert_close(value, b["state_dict"][key])
