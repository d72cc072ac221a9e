"""Settings modules: base (shared: `project`, one module per app, `tasks`), dev (make demo), test
(pytest), production (make up)."""
