"""Find the product(s) in a photo before it is embedded: `Localiser.locate(image) -> [Region]`."""
from engine.localise.model import (
    LOCALISER_KIND, Localiser, LocaliserNet, build_localiser_net, load_localiser, localiser_base, save_localiser,
)
from engine.localise.regions import Region, regions_from_heatmap

__all__ = [
    "LOCALISER_KIND", "Localiser", "LocaliserNet", "Region", "build_localiser_net", "load_localiser", "localiser_base",
    "regions_from_heatmap", "save_localiser",
]
