"""Phone-like photos of catalog products: real background photographs, cut-outs, composites.

The training and evaluation pools of background photographs never overlap (`backgrounds.py`),
and neither do the photo styles (`composite.TRAIN_STYLE` vs `composite.EVAL_STYLE`), so a
benchmark figure never measures a background or an augmentation the model was trained on.
"""
from engine.photos.backgrounds import BackgroundPool, background_pool
from engine.photos.composite import EVAL_STYLE, TRAIN_STYLE, Composite, PhotoStyle, compose
from engine.photos.cutout import Cutout, cut_out

__all__ = [
    "BackgroundPool", "Composite", "Cutout", "EVAL_STYLE", "PhotoStyle", "TRAIN_STYLE",
    "background_pool", "compose", "cut_out",
]
