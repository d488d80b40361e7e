"""Where the upload step can publish a run: one module per target, imported only when chosen."""

TARGETS = ("local", "gdrive")
