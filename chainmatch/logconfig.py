"""Logging handlers are configured here, and only by entry points (CLI, server)."""

from __future__ import annotations

import logging


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    # jieba announces its dictionary loading on every start; it is not news.
    logging.getLogger("jieba").setLevel(logging.WARNING)
