"""Models of the cdn app."""
