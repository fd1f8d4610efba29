"""ChainMatch's HTTP API (FastAPI)."""
