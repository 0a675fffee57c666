"""The batched-decode reader (nvjpeg on CUDA) checked on the CPU against the PIL reader."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.catalog import CatalogStore, Item
from engine.embedders import load_embedder
from engine.embedders.base import letterbox, pil_to_uint8_tensor
from engine.images import load_image
from engine.ingest import embed_catalog
from engine.ingest.device_decode import (
    CatalogFiles,
    assemble_batch,
    collate_raw,
    crop_tensor,
    device_decodable,
    letterbox_tensor,
)
from tests.factories import draw_product, encode, COLOURS

CPU = torch.device("cpu")


def photo(width: int, height: int, seed: int = 0) -> Image.Image:
    return draw_product("disc", COLOURS["teal"], max(width, height), seed).resize((width, height))


@pytest.mark.parametrize("size", [(640, 480), (300, 700), (224, 224), (100, 60)])
def test_letterbox_tensor_is_close_to_pil(size: tuple[int, int]) -> None:
    image = photo(*size)
    want = pil_to_uint8_tensor(letterbox(image, 224)).int()
    got = letterbox_tensor(pil_to_uint8_tensor(image), 224).int()
    assert got.shape == want.shape
    assert (got - want).abs().float().mean() < 1.5  # grey levels, out of 255
    assert (got - want).abs().max() <= 40  # only at sharp edges


def test_crop_tensor_follows_crop_to_bbox() -> None:
    image = photo(200, 100)
    tensor = pil_to_uint8_tensor(image)
    for bbox in [(10.4, 5.6, 120.2, 90.0), (-5, -5, 500, 500), (3, 3, 4, 50)]:
        want = pil_to_uint8_tensor(load_image(image, bbox=bbox))
        assert torch.equal(crop_tensor(tensor, bbox), want)


def test_header_check_routes_non_jpegs_to_pil() -> None:
    jpeg = encode(photo(64, 64), "JPEG")
    assert device_decodable(jpeg, 10**7)
    assert not device_decodable(jpeg, 100)  # over the pixel limit: PIL reports it
    assert not device_decodable(encode(photo(64, 64), "PNG"), 10**7)
    assert not device_decodable(encode(photo(64, 64).convert("CMYK"), "JPEG"), 10**7)
    assert not device_decodable(jpeg[:20], 10**7)


def write_catalog(folder: Path) -> CatalogStore:
    images = folder / "images"
    images.mkdir(parents=True)
    files = {
        "a.jpg": encode(photo(640, 480, 1), "JPEG", quality=92),
        "b.jpg": encode(photo(300, 500, 2).convert("L"), "JPEG"),
        "c.png": encode(photo(320, 320, 3), "PNG"),
        "d.jpg": encode(photo(400, 400, 4).convert("CMYK"), "JPEG"),
        "e.jpg": encode(photo(500, 300, 5), "JPEG")[:300],  # truncated
    }
    for name, data in files.items():
        (images / name).write_bytes(data)
    store = CatalogStore(folder / "catalog.sqlite")
    store.add_items([Item(image_path=f"images/{n}", title=n, category="x",
                          bbox=(50, 40, 600, 460) if n == "a.jpg" else None) for n in files])
    return store


def test_device_reader_matches_pil_reader_features(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "cat")
    embedder = load_embedder("efficientnet-lite0", "cpu")
    pil = embed_catalog(catalog, embedder, tmp_path / "pil", num_workers=0, progress=False, decoder="pil")
    dev = embed_catalog(catalog, embedder, tmp_path / "dev", num_workers=0, progress=False, decoder="device")
    assert pil.ids.tolist() == dev.ids.tolist() and len(pil.ids) == 4
    assert [i for i, _ in pil.failed] == [i for i, _ in dev.failed] and len(dev.failed) == 1
    assert "decode" in dev.timings and "decode" not in pil.timings
    cosine = (pil.features * dev.features).sum(1) / (
        np.linalg.norm(pil.features, axis=1) * np.linalg.norm(dev.features, axis=1))
    assert cosine.min() > 0.98, cosine


def test_failed_device_decode_falls_back_to_pil(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "cat")
    files = CatalogFiles(list(catalog.iter_items()), catalog.root, lambda im: pil_to_uint8_tensor(letterbox(im, 32)), 10**8)
    raw = collate_raw([files[0], files[4]])
    assert raw.samples[0].jpeg is not None
    raw.samples[0].jpeg = raw.samples[0].jpeg[:-200]  # nvjpeg/libjpeg may refuse a cut-off stream
    batch = assemble_batch(raw, 32, CPU, files.preprocess, 10**8)
    assert batch.pixels.shape[1:] == (3, 32, 32)
    assert len(batch.ids) + len(batch.failed) == 2
