"""What an ingest did: counts, and per-record errors and warnings a user can act on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError

if TYPE_CHECKING:
    from chainmatch.ingest.readers import ParsedRecord

# Pydantic's messages, said in Chinese first for the bureau and platform staff who read them.
_ZH = {
    "missing": "缺少必填字段",
    "string_too_long": "文本过长",
    "string_too_short": "文本过短",
    "string_type": "应为文本",
    "string_pattern_mismatch": "格式不符合要求",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "extra_forbidden": "不允许的字段",
    "enum": "取值不在允许范围内",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "too_long": "条目过多",
    "too_short": "条目过少",
    "value_error": "取值无效",
    "literal_error": "取值不在允许范围内",
    "greater_than": "数值过小",
    "less_than": "数值过大",
    "finite_number": "须为有限数值",
    "bool_type": "应为布尔值",
    "bool_parsing": "应为布尔值",
    "int_from_float": "应为整数",
    "date_from_datetime_parsing": "应为 YYYY-MM-DD 格式的日期",
    "date_parsing": "应为 YYYY-MM-DD 格式的日期",
    "json_invalid": "不是有效的 JSON",
    "string_unicode": "文本含无效字符",
    "union_tag_invalid": "取值不在允许范围内",
}


def zh_message(kind: str, english: str) -> str:
    """Pydantic's message for an error of type ``kind``, Chinese first, the English kept."""
    if kind == "value_error":  # our own validators already say it in Chinese
        return english.removeprefix("Value error, ")
    return f"{_ZH.get(kind, '取值无效')} ({english})"


class RecordIssue(BaseModel):
    """One problem with one record: where (line or position), which record, which field, why."""

    line: int | None = Field(None, description="1-based line (JSONL, CSV) or position (JSON array)")
    id: str | None = None
    field: str | None = None
    message: str


class IngestReport(BaseModel):
    received: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    invalid: int = 0
    written: bool = False
    errors: list[RecordIssue] = Field(default_factory=list)
    warnings: list[RecordIssue] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(
        self, message: str, *, line: int | None = None, id: str | None = None, field: str | None = None
    ) -> None:
        self.errors.append(RecordIssue(line=line, id=id, field=field, message=message))

    def readable(self, item: ParsedRecord) -> dict[str, Any] | None:
        """Count a parsed record; its data, or ``None`` (with the reader's error) when it could not
        be read."""
        self.received += 1
        if item.data is None:
            self.invalid += 1
            self.error(item.problem or "无法解析 (unreadable record)", line=item.line)
        return item.data

    def reject(self, exc: ValidationError, *, line: int | None, record_id: str | None) -> None:
        """A record that failed validation: every field's issue, with its line and id."""
        self.invalid += 1
        self.errors.extend(validation_issues(exc, line=line, record_id=record_id))

    def require_records(self) -> None:
        """An input without a single record is an error, not a successful import of nothing."""
        if self.received == 0:
            self.error("没有可导入的记录，文件为空 (no records: the input is empty)")

    def warn(
        self, message: str, *, line: int | None = None, id: str | None = None, field: str | None = None
    ) -> None:
        self.warnings.append(RecordIssue(line=line, id=id, field=field, message=message))


def validation_issues(exc: ValidationError, *, line: int | None, record_id: str | None) -> list[RecordIssue]:
    """One issue per field error of a record, in Chinese with pydantic's English reason kept."""
    issues = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__") or None
        kind = str(err.get("type", ""))
        message = zh_message(kind, str(err.get("msg", "")))
        issues.append(RecordIssue(line=line, id=record_id, field=field, message=message))
    return issues


def describe_input(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
