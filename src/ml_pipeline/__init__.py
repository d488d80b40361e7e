"""A containerised, reproducible pipeline for diagnostic models (first model: WDBC)."""

__version__ = "0.1.0"
