"""ChainMatch application glue: settings, database, ingest, CLI and the demo."""

__version__ = "0.1.0"
