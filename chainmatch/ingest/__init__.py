"""Ingest of firm and product-relation records from files (JSONL, JSON arrays, CSV) and the API."""
