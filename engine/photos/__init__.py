"""Phone-like photos of catalog products: real background photographs, cut-outs, composites.

The training, dev and evaluation pools of background photographs never overlap
(`backgrounds.py`), and neither do the training and evaluation photo styles
(`composite.TRAIN_STYLE` vs `composite.EVAL_STYLE`), so a benchmark figure never measures a
background or an augmentation the model was trained on. Training scenes also hold non-product
objects (`clutter.py`). Settings are chosen on the dev pool, never on the evaluation one.
"""
from engine.photos.backgrounds import BackgroundPool, background_pool
from engine.photos.composite import DEV_STYLE, EVAL_STYLE, TRAIN_STYLE, Composite, PhotoStyle, compose
from engine.photos.cutout import Cutout, cut_out

__all__ = [
    "BackgroundPool", "Composite", "Cutout", "DEV_STYLE", "EVAL_STYLE", "PhotoStyle", "TRAIN_STYLE",
    "background_pool", "compose", "cut_out",
]
