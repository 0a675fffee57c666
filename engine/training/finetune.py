"""Transfer learning as in the reference study: a conv backbone, a new dense layer, a softmax.

Frozen (default): the pretrained conv trunk keeps its weights (requires_grad False, BatchNorm in
eval mode). Because it is then a fixed function, its features are computed once per image and
cached on disk (`<data>/embeddings/trunk--...`), and only the head trains: minutes on a CPU.
From scratch (`from_scratch=True`): every layer trains from a random init, on in-memory pixels.

The result is `<models_dir>/<name>.pt`, kind "classifier-head", which the engine loads as
`ft:<name>` (its embedding is the dense layer's output). A `<name>.resume` file written after
every epoch lets `resume=True` continue an interrupted run with the same result.
"""
from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from engine.catalog.store import CatalogStore
from engine.embedders.backbones import Backbone, build_backbone
from engine.embedders.base import Embedder, resolve_device
from engine.embedders.checkpoints import ClassifierHeadNet, save_checkpoint
from engine.training.data import TrainingData, select_training_data
from engine.training.features import embed_items, load_pixels

logger = logging.getLogger(__name__)

Forward = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class FinetuneConfig:
    """Everything that decides a run; stored in the checkpoint next to the weights."""

    name: str
    backbone: str = "vgg16"
    input_size: int | None = None
    hidden: int = 4096
    dropout: float = 0.5
    from_scratch: bool = False
    top_categories: int | None = None
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 3
    val_fraction: float = 0.1
    limit: int | None = None
    seed: int = 0
    flip: bool = True  # random horizontal flips when training on pixels
    allow_random: bool = False  # tests only: a "pretrained" trunk with random weights


@dataclass
class FinetuneResult:
    path: Path
    val_acc: float
    epochs: int
    frozen: bool
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


# --- the network ----------------------------------------------------------------------------
def build_model(config: FinetuneConfig, n_classes: int) -> tuple[ClassifierHeadNet, Backbone]:
    """Backbone (pretrained unless from scratch) + new dense layer + classifier, seeded."""
    torch.manual_seed(config.seed)
    backbone = build_backbone(
        config.backbone, pretrained=not config.from_scratch,
        allow_random=config.allow_random, input_size=config.input_size,
    )
    net = ClassifierHeadNet(backbone, config.hidden, n_classes, config.dropout)
    if not config.from_scratch:
        freeze_trunk(net)
    return net, backbone


def freeze_trunk(net: ClassifierHeadNet) -> None:
    """No gradients into the conv layers, and BatchNorm statistics stay as they are."""
    for parameter in net.trunk.parameters():
        parameter.requires_grad_(False)
    net.trunk.eval()


def set_train_mode(net: ClassifierHeadNet, training: bool) -> None:
    """`net.train(training)`, but a frozen trunk always stays in eval mode."""
    net.train(training)
    if not any(p.requires_grad for p in net.trunk.parameters()):
        net.trunk.eval()


def head_forward(net: ClassifierHeadNet) -> Forward:
    """Logits from cached trunk features (the frozen path)."""
    return lambda features: net.classifier(net.dropout(net.dense(features)))


def pixel_forward(net: ClassifierHeadNet, backbone: Backbone, device: torch.device, flip: bool) -> Forward:
    """Logits from uint8 pixels, normalised like the backbone expects; flips while training."""
    mean = torch.tensor(backbone.mean, device=device).view(1, 3, 1, 1) * 255
    std = torch.tensor(backbone.std, device=device).view(1, 3, 1, 1) * 255

    def forward(pixels: torch.Tensor) -> torch.Tensor:
        x = (pixels.float() - mean) / std
        if flip and net.training:
            mask = torch.rand(len(x), device=device) < 0.5
            x = torch.where(mask.view(-1, 1, 1, 1), x.flip(3), x)
        logits: torch.Tensor = net(x)
        return logits

    return forward


def train_step(
    forward: Forward, optimizer: torch.optim.Optimizer, inputs: torch.Tensor, labels: torch.Tensor
) -> float:
    """One SGD step on one batch (bf16 autocast on CUDA); returns the loss."""
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=inputs.device.type == "cuda"):
        loss = nn.functional.cross_entropy(forward(inputs), labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


@torch.no_grad()
def accuracy(forward: Forward, inputs: torch.Tensor, labels: torch.Tensor, device: torch.device, batch: int = 512) -> float:
    """Top-1 accuracy of `forward` (call with the net in eval mode)."""
    if not len(labels):
        return float("nan")
    correct = 0
    for start in range(0, len(labels), batch):
        x = inputs[start : start + batch].to(device)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
            predicted = forward(x).argmax(1).cpu()
        correct += int((predicted == labels[start : start + batch]).sum())
    return correct / len(labels)


# --- inputs ----------------------------------------------------------------------------------
def trunk_features(
    data: TrainingData, catalog: CatalogStore, backbone: Backbone, device: torch.device,
    embeddings_dir: Path, workers: int, progress: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Frozen trunk features of train and val items, computed once and cached on disk."""
    trunk = Embedder(f"trunk:{backbone.name}", backbone.trunk, backbone.feature_dim, backbone.input_size,
                     backbone.mean, backbone.std, device, {"weights": backbone.weights_source})
    folder = embeddings_dir / f"trunk--{backbone.name}-{backbone.input_size}"
    provenance = {"catalog_id": catalog.catalog_id}
    items = data.train + data.val
    _, features = embed_items(items, catalog.root, trunk, folder, provenance, workers=workers, progress=progress)
    tensor = torch.from_numpy(features)
    return tensor[: len(data.train)], tensor[len(data.train) :]


def _inputs(
    config: FinetuneConfig, data: TrainingData, catalog: CatalogStore, net: ClassifierHeadNet,
    backbone: Backbone, device: torch.device, workers: int, progress: bool,
) -> tuple[Forward, torch.Tensor, torch.Tensor]:
    if config.from_scratch:
        pixels = load_pixels(data.train + data.val, catalog.root, backbone.input_size, workers=workers, progress=progress)
        forward = pixel_forward(net, backbone, device, config.flip)
        return forward, pixels[: len(data.train)], pixels[len(data.train) :]
    embeddings_dir = catalog.root / "embeddings"
    train_x, val_x = trunk_features(data, catalog, backbone, device, embeddings_dir, workers, progress)
    return head_forward(net), train_x, val_x


# --- the loop ----------------------------------------------------------------------------------
def finetune(
    config: FinetuneConfig,
    catalog: CatalogStore,
    models_dir: Path,
    *,
    device: str | torch.device | None = None,
    resume: bool = False,
    workers: int = 2,
    progress: bool = True,
) -> FinetuneResult:
    """Train, validate every epoch, stop early, save `<models_dir>/<name>.pt`; see module doc."""
    started = time.perf_counter()
    torch_device = resolve_device(device)
    data = select_training_data(catalog, top_categories=config.top_categories,
                                val_fraction=config.val_fraction, limit=config.limit, seed=config.seed)
    net, backbone = build_model(config, len(data.categories))
    frozen = not config.from_scratch
    logger.info(
        "%s: %s (backbone %s, weights %s, %d px)", config.name,
        "FROZEN pretrained conv trunk + new dense head" if frozen else "training ALL layers FROM SCRATCH",
        backbone.name, backbone.weights_source, backbone.input_size,
    )
    net.to(torch_device)
    forward, train_x, val_x = _inputs(config, data, catalog, net, backbone, torch_device, workers, progress)
    train_y, val_y = torch.from_numpy(data.train_labels), torch.from_numpy(data.val_labels)
    trainable = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, config.epochs))
    state = _TrainState(best_state=copy.deepcopy(net.state_dict()))
    resume_path = models_dir / f"{config.name}.resume"
    if resume and resume_path.exists():
        state = _load_resume(resume_path, config, net, optimizer, scheduler)
    for epoch in range(state.epoch, config.epochs):
        if state.bad_epochs >= config.patience:
            break
        loss = _run_epoch(net, forward, optimizer, train_x, train_y, config, epoch, torch_device, progress)
        scheduler.step()
        set_train_mode(net, False)
        val_acc = accuracy(forward, val_x, val_y, torch_device)
        state.record(epoch, loss, val_acc, net)
        logger.info("epoch %d/%d: loss %.4f, val acc %.4f (best %.4f)", epoch + 1, config.epochs, loss, val_acc, state.best_val)
        _save_resume(resume_path, config, net, optimizer, scheduler, state)
        if state.bad_epochs >= config.patience:
            logger.info("early stop: no val improvement for %d epochs", config.patience)
    path = models_dir / f"{config.name}.pt"
    save_checkpoint(path, kind="classifier-head", config=_checkpoint_config(config, backbone, data, catalog, state),
                    state_dict=state.best_state)
    logger.info("saved %s (best val acc %.4f); load it as ft:%s", path, state.best_val, config.name)
    return FinetuneResult(path, state.best_val, state.epoch, frozen, state.history, time.perf_counter() - started)


def _run_epoch(
    net: ClassifierHeadNet, forward: Forward, optimizer: torch.optim.Optimizer, inputs: torch.Tensor,
    labels: torch.Tensor, config: FinetuneConfig, epoch: int, device: torch.device, progress: bool,
) -> float:
    set_train_mode(net, True)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(config.seed * 100_003 + epoch))
    losses: list[float] = []
    batches = range(0, len(order), config.batch_size)
    for start in tqdm(batches, desc=f"epoch {epoch + 1}", unit="batch", disable=not progress, leave=False):
        rows = order[start : start + config.batch_size]
        losses.append(train_step(forward, optimizer, inputs[rows].to(device), labels[rows].to(device)))
    return float(np.mean(losses)) if losses else float("nan")


@dataclass
class _TrainState:
    epoch: int = 0
    best_val: float = -1.0
    bad_epochs: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)

    def record(self, epoch: int, loss: float, val_acc: float, net: nn.Module) -> None:
        self.epoch = epoch + 1
        self.history.append({"epoch": epoch + 1, "loss": loss, "val_acc": val_acc})
        if val_acc > self.best_val:
            self.best_val, self.bad_epochs = val_acc, 0
            self.best_state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
        else:
            self.bad_epochs += 1


def _save_resume(path: Path, config: FinetuneConfig, net: nn.Module, optimizer: Any, scheduler: Any, state: _TrainState) -> None:
    payload = {
        "format": "dope-or-nope/finetune-resume/1", "config": asdict(config),
        "net": net.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "epoch": state.epoch, "best_val": state.best_val, "bad_epochs": state.bad_epochs,
        "history": state.history, "best_state": state.best_state, "rng": torch.get_rng_state(),
    }
    save_checkpoint(path, kind="finetune-resume", config=asdict(config), state_dict=payload)


def _load_resume(path: Path, config: FinetuneConfig, net: nn.Module, optimizer: Any, scheduler: Any) -> _TrainState:
    from engine.embedders.checkpoints import load_checkpoint

    payload = load_checkpoint(path)["state_dict"]
    saved = {k: v for k, v in payload["config"].items() if k != "epochs"}
    if saved != {k: v for k, v in asdict(config).items() if k != "epochs"}:
        raise ValueError(f"{path} was written by a different configuration: {saved}")
    net.load_state_dict(payload["net"])
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    torch.set_rng_state(payload["rng"])
    logger.info("resuming %s after epoch %d (best val acc %.4f)", config.name, payload["epoch"], payload["best_val"])
    return _TrainState(payload["epoch"], payload["best_val"], payload["bad_epochs"], list(payload["history"]),
                       payload["best_state"])


def _checkpoint_config(
    config: FinetuneConfig, backbone: Backbone, data: TrainingData, catalog: CatalogStore, state: _TrainState
) -> dict[str, Any]:
    frozen = not config.from_scratch
    return {
        "backbone": config.backbone, "input_size": backbone.input_size, "hidden": config.hidden,
        "dropout": config.dropout, "categories": data.categories, "from_scratch": config.from_scratch,
        "frozen": frozen, "top_categories": config.top_categories, "seed": config.seed,
        "epochs": state.epoch, "val_acc": state.best_val, "catalog_id": catalog.catalog_id,
        "trunk_weights": backbone.weights_source, "lr": config.lr, "batch_size": config.batch_size,
        "n_train": len(data.train), "n_val": len(data.val), "limit": config.limit, "history": state.history,
    }
