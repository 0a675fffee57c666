"""Phone-like photos: real background photographs, cut-outs and composites, on real JPEGs."""
from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from engine.catalog.synthetic import synthetic_sample
from engine.images import load_image
from engine.localise.regions import Letterbox, box_iou, regions_from_heatmap
from engine.photos import DEV_STYLE, EVAL_STYLE, TRAIN_STYLE, background_pool, compose, cut_out
from engine.photos.backgrounds import BackgroundsMissingError
from engine.photos.clutter import ClutterPool, clutter_pool


def _item(index: int) -> tuple[Image.Image, tuple[float, float, float, float]]:
    sample = synthetic_sample(0, index)
    assert sample.item.bbox is not None
    return Image.open(io.BytesIO(sample.jpeg)).convert("RGB"), sample.item.bbox


@pytest.fixture(scope="module")
def pools() -> dict[str, object]:
    try:
        return {name: background_pool(name) for name in ("train", "dev", "eval")}
    except BackgroundsMissingError as exc:  # scripts/install.sh installs every pool
        pytest.skip(str(exc))


def test_pools_are_disjoint_real_photographs(pools: dict) -> None:
    train, dev, evaluation = pools["train"], pools["dev"], pools["eval"]
    assert len(train) >= 10 and len(dev) >= 5 and len(evaluation) >= 8
    files = [{p.resolve() for p in pool.paths} for pool in (train, dev, evaluation)]
    assert not files[0] & files[1] and not files[0] & files[2] and not files[1] & files[2]
    photo = evaluation.image(0)
    assert photo.mode == "RGB" and min(photo.size) >= 256
    # A real photograph, not a flat fill: plenty of distinct colours.
    assert len(np.unique(np.asarray(photo.resize((64, 64))).reshape(-1, 3), axis=0)) > 500


def test_cut_out_follows_the_silhouette() -> None:
    image, bbox = _item(3)
    cutout = cut_out(image, bbox)
    assert cutout.from_mask
    assert cutout.crop.size == (cutout.bbox[2] - cutout.bbox[0], cutout.bbox[3] - cutout.bbox[1])
    ys, xs = np.nonzero(cutout.mask > 0.5)
    tight = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert box_iou(tight, (0, 0, *cutout.crop.size)) > 0.9  # the silhouette fills its own bbox
    assert 0.2 < (cutout.mask > 0.5).mean() < 0.98  # ...but it is not the whole rectangle


def test_cut_out_of_a_flat_box_keeps_the_whole_box() -> None:
    flat = Image.new("RGB", (100, 80), (250, 250, 250))
    cutout = cut_out(flat, (10, 10, 60, 50))
    assert not cutout.from_mask and cutout.mask.min() == 1.0


def test_composite_box_is_the_pasted_product(pools: dict) -> None:
    image, bbox = _item(5)
    cutout = cut_out(image, bbox)
    for seed in range(6):
        photo = compose(cutout, pools["eval"], np.random.default_rng(seed), EVAL_STYLE)
        width, height = photo.image.size
        assert (width, height) in EVAL_STYLE.canvases
        x1, y1, x2, y2 = photo.box
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
        share = max(x2 - x1, y2 - y1) / min(width, height)
        assert 0.1 < share < 1.0  # scaled into 20–70% (rotation and warp widen the box)
        # The box is the product's whole extent; the mask is what is visible of it (an
        # occluder may hide an edge), so the mask's extent lies inside the box and mostly fills it.
        ys, xs = np.nonzero(photo.mask > 0.5)
        visible = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        assert visible[0] >= x1 and visible[1] >= y1 and visible[2] <= x2 and visible[3] <= y2
        assert box_iou(visible, photo.box) > 0.6
        assert Image.open(io.BytesIO(photo.jpeg)).format == "JPEG"


def test_composites_are_deterministic_and_styles_differ(pools: dict) -> None:
    image, bbox = _item(7)
    cutout = cut_out(image, bbox)
    a = compose(cutout, pools["train"], np.random.default_rng(1), TRAIN_STYLE)
    b = compose(cutout, pools["train"], np.random.default_rng(1), TRAIN_STYLE)
    assert a.jpeg == b.jpeg and a.box == b.box
    assert not set(TRAIN_STYLE.canvases) & set(EVAL_STYLE.canvases)
    assert TRAIN_STYLE.blur_kind != EVAL_STYLE.blur_kind and TRAIN_STYLE.cast_kind != EVAL_STYLE.cast_kind


def test_regions_from_a_heatmap_map_back_to_the_photo() -> None:
    # A 640×480 photo letterboxed into 320 px: scale 0.5, 40 px bands top and bottom.
    box = Letterbox.fit((640, 480), 320)
    assert (box.scale, box.offset_x, box.offset_y) == (0.5, 0, 40)
    heat = np.zeros((80, 80), np.float32)  # 4 input px per cell
    heat[20:40, 10:30] = 0.95  # input px (40..120, 80..160) → photo (80..240, 80..240)
    heat[50:62, 60:72] = 0.7  # a smaller second product (over min_share of the first)
    regions = regions_from_heatmap(heat, box, margin=0.0)
    assert len(regions) == 2 and regions[0].mass > regions[1].mass
    assert regions[0].box == pytest.approx((80, 80, 240, 240))
    assert regions[0].score == pytest.approx(0.95)
    assert regions_from_heatmap(np.zeros((80, 80), np.float32), box) == []


def test_large_jpegs_decode_at_reduced_scale_with_the_bbox_rescaled() -> None:
    photo = Image.new("RGB", (4000, 3000), (200, 200, 200))
    photo.paste((20, 40, 200), (1000, 1000, 2000, 2000))
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=90)
    decoded = load_image(buffer.getvalue(), max_side=1600)
    assert 1600 <= max(decoded.size) < 4000
    crop = load_image(buffer.getvalue(), max_side=1600, bbox=(1000, 1000, 2000, 2000))
    blue = np.asarray(crop, np.float32).mean(axis=(0, 1))
    assert blue[2] > 150 and blue[0] < 60  # the rescaled box still holds exactly the blue square
    assert load_image(buffer.getvalue()).size == (4000, 3000)  # without max_side: full size


def test_reduced_scale_decoding_reports_its_scale() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4000, 3000), (90, 90, 90)).save(buffer, format="JPEG")
    decoded = load_image(buffer.getvalue(), max_side=1600)
    assert decoded.info["draft_scale"] * decoded.width == pytest.approx(4000)
    assert "draft_scale" not in load_image(buffer.getvalue()).info


@pytest.fixture(scope="module")
def clutter() -> ClutterPool:
    found = clutter_pool()
    if not len(found):
        pytest.skip("no clutter objects installed (apt-get install tuxpaint-stamps-default)")
    return found


def test_clutter_objects_are_cut_out_and_never_clothing(clutter: ClutterPool) -> None:
    assert len(clutter) > 100
    assert not any("clothes" in path.parts for path in clutter.paths)
    objects = [thing for seed in range(20) if (thing := clutter.sample(np.random.default_rng(seed))) is not None]
    assert len(objects) >= 10
    for thing in objects:
        assert thing.crop.size == thing.mask.shape[::-1] and max(thing.crop.size) <= 256
        assert 0.1 <= float((thing.mask > 0.5).mean()) <= 1.0


def test_clutter_changes_the_scene_but_stays_out_of_the_product_mask(pools: dict, clutter: ClutterPool) -> None:
    image, bbox = _item(9)
    cutout = cut_out(image, bbox)
    always = replace(TRAIN_STYLE, clutter=1.0, studio_share=0.0, distractor=0.0, occlusion=0.0)
    for seed in range(4):
        bare = compose(cutout, pools["train"], np.random.default_rng(seed), replace(always, clutter=0.0))
        busy = compose(cutout, pools["train"], np.random.default_rng(seed), always, clutter=clutter)
        assert busy.jpeg != bare.jpeg
        # Only the product is foreground: outside its box the mask holds nothing, whatever was pasted.
        x1, y1, x2, y2 = (int(v) for v in busy.box)
        outside = busy.mask.copy()
        outside[y1:y2, x1:x2] = 0
        assert outside.max() < 0.5 and busy.mask.max() > 0.5  # the box is where the mask passes 0.5


def test_dev_and_eval_queries_never_carry_clutter() -> None:
    assert EVAL_STYLE.clutter == 0.0 and DEV_STYLE.clutter == 0.0 and TRAIN_STYLE.clutter > 0
    assert DEV_STYLE.scale == EVAL_STYLE.scale and DEV_STYLE.blur_kind == TRAIN_STYLE.blur_kind
