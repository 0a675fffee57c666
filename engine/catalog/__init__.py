"""The product catalog: items in SQLite, and importers that fill it."""
from engine.catalog.store import CatalogStore, Item

__all__ = ["CatalogStore", "Item"]
