"""Catalog: titles, series, media assets, availability, search and viewing activity."""
