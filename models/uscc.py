"""统一社会信用代码 (Unified Social Credit Code) validation, GB 32100-2015."""

from __future__ import annotations

_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUES = {c: i for i, c in enumerate(_CHARSET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    total = sum(_VALUES[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHARSET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> str | None:
    """Return a reason (Chinese + English) why ``code`` is not a valid USCC, or None when it is."""
    if len(code) != 18:
        return f"统一社会信用代码应为18位，实际{len(code)}位 (USCC must be 18 characters)"
    bad = sorted({c for c in code if c not in _VALUES})
    if bad:
        return f"统一社会信用代码含非法字符 {''.join(bad)} (invalid characters; I, O, Z, S, V are never used)"
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return f"统一社会信用代码校验位错误：应为 {expected}，实际为 {code[17]} (check character mismatch)"
    return None
