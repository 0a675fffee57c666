"""Appearance: a small colour descriptor of a product, beside the CNN embedding.

The ImageNet CNNs rank by what a thing is, and keep little of its colour (docs/RESULTS.md §2:
even an oracle linear metric on efficientnet-lite0's features reaches only 46% same-colour P@5).
A person whose taste is colour needs it back: personal adapters (engine.feedback.personal) weigh
this descriptor's distance against the embedding's, as much as that user's votes say.
"""
from engine.appearance.descriptor import APPEARANCE_DIM, colour_descriptor
from engine.appearance.table import APPEARANCE_FILE, AppearanceTable

__all__ = ["APPEARANCE_DIM", "APPEARANCE_FILE", "AppearanceTable", "colour_descriptor"]
