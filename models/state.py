"""The corpus revision counter that keeps every search index in step with the database."""

from __future__ import annotations

import uuid

from sqlmodel import Field, SQLModel


class CorpusState(SQLModel, table=True):
    """A single row (id=1). ``revision`` grows with every firm write, in the same transaction;
    ``relations_revision`` with every product-relation write. An index built at revision R is
    current iff both numbers still match; otherwise it catches up from the rows with revision > R.
    ``aliases_revision`` grows with every product-alias write; it is not part of an index's stamp."""

    __tablename__ = "corpus_state"

    id: int = Field(default=1, primary_key=True)
    # Random per database: an index built for another database (or a re-created file whose
    # revisions restarted) is never mistaken for this one's.
    instance: str = Field(default_factory=lambda: uuid.uuid4().hex, max_length=32)
    revision: int = 0
    relations_revision: int = 0
    # Grows with every write of the administrators' product aliases (product_alias): each worker
    # reloads them into its engine when this differs from what it loaded (no index rebuild).
    aliases_revision: int = 0
