"""Strict JSON: what the API and the importers accept as JSON, and nothing more.

Python's ``json`` module reads more than RFC 8259 allows and more than the rest of the system can
hold: the literals ``NaN`` / ``Infinity`` / ``-Infinity``, numbers that overflow to ``inf``
(``1e309``), integers no database column holds (``1180591620717411303424``), lone UTF-16
surrogates (``"\\ud800"``, which no UTF-8 encoder, database driver or JSON response can write), and
nesting deep enough to exhaust the interpreter's stack. :func:`check` finds the first such value and
names where it is (``("items", 0, "annual_demand_cny")``), so that a caller can answer with the
field instead of failing later with a 500.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32  # arrays and objects nested in each other; the deepest real body has 4
MAX_INT = 2**63 - 1  # the widest integer column (BIGINT); Python's int has no bound
_SURROGATE = re.compile("[\ud800-\udfff]")

Loc = tuple[str | int, ...]


class JsonRejected(ValueError):
    """A JSON document, or one value in it, that is refused: ``loc`` says where, ``kind`` what."""

    def __init__(self, kind: str, message: str, loc: Loc = ()) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.loc = loc


NOT_FINITE = "须为有限数值，不能是 NaN、Infinity 或超出范围的数 (must be a finite number: no NaN, Infinity or overflow)"
TOO_BIG = f"整数超出范围（绝对值最大 {MAX_INT}）(integer out of range)"
SURROGATE = "文本含无效的 Unicode 代理字符 (text contains a lone UTF-16 surrogate)"
TOO_DEEP = f"JSON 嵌套层级超过 {MAX_DEPTH} 层 (JSON nested more than {MAX_DEPTH} levels deep)"
NUMBER_TOO_LONG = "数字位数过多 (a number has too many digits)"


def parse(text: str | bytes) -> Any:
    """``json.loads`` without the interpreter's failure modes: deep nesting and over-long numbers
    are a :class:`JsonRejected`; syntax errors stay ``json.JSONDecodeError``. The values it returns
    may still be hostile: see :func:`check`."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError as exc:
        raise JsonRejected("json_too_deep", TOO_DEEP) from exc
    except ValueError as exc:  # int() of more than sys.get_int_max_str_digits() digits
        raise JsonRejected("number_too_long", NUMBER_TOO_LONG) from exc


def _bad_text(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


def check(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`JsonRejected` at the first value no part of the system can hold: a non-finite
    number, an integer beyond :data:`MAX_INT`, text with a lone surrogate (in a value or a key), or
    nesting deeper than ``max_depth``. Iterative: any depth is safe to check."""
    stack: list[tuple[Any, Loc, int]] = [(value, (), 0)]
    while stack:
        item, loc, depth = stack.pop()
        if isinstance(item, str):
            if _bad_text(item):
                raise JsonRejected("string_unicode", SURROGATE, loc)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise JsonRejected("finite_number", NOT_FINITE, loc)
        elif isinstance(item, int):
            if abs(item) > MAX_INT:
                raise JsonRejected("int_too_big", TOO_BIG, loc)
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise JsonRejected("json_too_deep", TOO_DEEP, loc)
            if isinstance(item, dict):
                for key, child in reversed(item.items()):
                    if _bad_text(key):
                        raise JsonRejected("string_unicode", SURROGATE, loc)
                    stack.append((child, (*loc, key), depth + 1))
            else:
                for position in range(len(item) - 1, -1, -1):
                    stack.append((item[position], (*loc, position), depth + 1))


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse and check: a value every part of the system can hold, or an exception."""
    value = parse(text)
    check(value, max_depth=max_depth)
    return value


def describe(loc: Loc) -> str:
    """``items[0].annual_demand_cny``: a location as a user reads it."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


__all__ = ["MAX_DEPTH", "MAX_INT", "JsonRejected", "check", "describe", "loads", "parse"]
