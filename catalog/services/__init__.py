"""Catalog writes, one module per area (titles, importers, media, activity, ...)."""
