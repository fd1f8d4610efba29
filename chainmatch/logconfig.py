"""Logging handlers are configured here, and only by entry points (CLI, server)."""

from __future__ import annotations

import logging


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    # Libraries that announce routine loading steps at INFO on every start: not news.
    for noisy in ("jieba", "faiss.loader", "sentence_transformers", "httpx", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
