"""Provenance has one home: each stored thing refuses a mismatch with an error named after it."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from engine.embedders import load_embedder
from engine.embedders.checkpoints import load_checkpoint, save_checkpoint
from engine.embedders.pca import fit_pca, save_pca_checkpoint
from engine.errors import (
    CheckpointMismatchError,
    EmbeddingCacheMismatchError,
    IndexMismatchError,
    ProvenanceMismatchError,
)
from engine.feedback.personal import UserAdapters
from engine.ingest.writer import EmbeddingCache
from engine.provenance import check, describe_base

ENGINE = Path(__file__).resolve().parents[2] / "engine"


def test_check_names_every_disagreeing_key_and_raises_the_given_error() -> None:
    found = {"embedder": "a", "dim": 8, "catalog_id": "c1", "note": "unchecked"}
    check(found, {"embedder": "a", "dim": 8, "note": "other"}, "x")  # unchecked keys may differ
    with pytest.raises(IndexMismatchError, match=r"embedder: .*'a'.*'b'; dim: .*8.*16"):
        check(found, {"embedder": "b", "dim": 16}, "x")
    with pytest.raises(EmbeddingCacheMismatchError, match="catalog_id") as caught:
        check(found, {"catalog_id": "c2"}, "x", error=EmbeddingCacheMismatchError)
    assert not isinstance(caught.value, IndexMismatchError)
    assert isinstance(caught.value, ProvenanceMismatchError)


def test_embedding_cache_of_another_model_is_refused_or_reset(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    cache = EmbeddingCache(folder, {"embedder": "a", "dim": 2, "catalog_id": "c"})
    cache.append([1], np.ones((1, 2), np.float32))
    with pytest.raises(EmbeddingCacheMismatchError, match="embedder"):
        EmbeddingCache(folder, {"embedder": "b", "dim": 2, "catalog_id": "c"})
    assert EmbeddingCache(folder, {"embedder": "a", "dim": 2, "catalog_id": "c"}).done_ids() == {1}
    fresh = EmbeddingCache(folder, {"embedder": "b", "dim": 2, "catalog_id": "c"}, reset_on_mismatch=True)
    assert fresh.done_ids() == set()


def pca_checkpoint(path: Path) -> None:
    base = load_embedder("random-init", "cpu", allow_random=True)
    fit = fit_pca(np.random.default_rng(3).standard_normal((40, base.dim)), 4)
    save_pca_checkpoint(path, base, fit, fitted_on={})


def test_checkpoint_on_a_base_of_another_dimension_is_refused(tmp_path: Path) -> None:
    pca_checkpoint(tmp_path / "p.pt")
    payload = load_checkpoint(tmp_path / "p.pt")
    base = load_embedder("random-init", "cpu", allow_random=True)
    assert {k: payload["config"][k] for k in describe_base(base)} == describe_base(base)
    payload["config"]["base_dim"] = base.dim * 2
    save_checkpoint(tmp_path / "p.pt", kind=payload["kind"], config=payload["config"],
                    state_dict=payload["state_dict"])
    with pytest.raises(CheckpointMismatchError, match="fit_pca.py") as caught:
        load_embedder("ft:p", "cpu", models_dir=tmp_path)
    assert not isinstance(caught.value, IndexMismatchError)


def test_personal_adapters_refuse_a_checkpoint_of_another_kind(tmp_path: Path) -> None:
    pca_checkpoint(tmp_path / "p.pt")
    with pytest.raises(CheckpointMismatchError, match="'pca' checkpoint"):
        UserAdapters.from_checkpoint(tmp_path / "p.pt")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):  # lazy imports inside functions count too
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("module", ["pca", "projection", "base", "checkpoints", "backbones"])
def test_embedder_modules_do_not_import_the_registry(module: str) -> None:
    assert "engine.embedders.registry" not in imported_modules(ENGINE / "embedders" / f"{module}.py")
    assert "engine.embedders" not in imported_modules(ENGINE / "embedders" / f"{module}.py")


def test_provenance_imports_no_engine_module_but_errors() -> None:
    engine_imports = {m for m in imported_modules(ENGINE / "provenance.py") if m.startswith("engine")}
    assert engine_imports <= {"engine.errors", "engine.embedders.base"}  # base for type checking only
