"""Database backends of the project (`streamsite.db.postgresql`)."""
