"""What a caller wants to do with one object it names: read it, or change it.

Each service's ``find`` takes it: the object comes back only if the caller may do that to it, else
:class:`~chainmatch.errors.NotFound` (it does not exist, or the caller may not see it — the caller
cannot tell which) or :class:`~chainmatch.errors.Forbidden` (it may see it but not change it). The
API builds one look-up dependency per object kind and access from these (``api/deps.py``).
"""

from __future__ import annotations

from enum import StrEnum


class Access(StrEnum):
    READ = "read"
    WRITE = "write"
