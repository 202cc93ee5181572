"""What a test-read of a connector spec found (tasks/preview.py reads; the CLI, API and console show it)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

SHOWN = 20
"""Records, rows and rejections shown."""


class RequestShown(BaseModel):
    method: str
    url: str = Field(description="without secrets: secret parameters and registered secret values are redacted")
    body: str | None = Field(default=None, description="the JSON body sent, redacted")
    status: int | None = Field(description="None when no answer came (timeout, connection refused)")
    seconds: float | None = Field(description="from sending the request to the end of the answer's body")


class RejectionShown(BaseModel):
    sync_key: str | None
    reason: str
    drift: bool = False


class SuggestionShown(BaseModel):
    reason: str
    edits: dict[str, Any] = Field(description="spec key path (records.path, pagination) -> its new value")


class Preview(BaseModel):
    """What a test-read of a spec found."""

    vendor: str
    parent: str | None = Field(default=None, description='a dependent stream: the parent whose children were '
                                                         'read, "group 1"')
    requests: list[RequestShown] = Field(default_factory=list)
    pages: list[str] = Field(default_factory=list, description='where each page read is: "offset 100", "page 2"')
    records_path: str
    record_count: int = 0
    records: list[Any] = Field(default_factory=list, description=f"the first {SHOWN} records, as the vendor sent them")
    rows: list[dict[str, Any]] = Field(default_factory=list, description=f"the first {SHOWN} mapped rows")
    mapped_count: int = 0
    rejected_count: int = 0
    rejections: list[RejectionShown] = Field(default_factory=list)
    mapping_note: str | None = Field(default=None, description="why the records were not mapped, when they were not")
    next_request: RequestShown | None = Field(default=None, description="the request the paginator would send next")
    stop: str = Field(default="", description="why the paginator stops, or why the test stopped")
    error: str | None = Field(default=None, description="what stopped the read, as a run would report it")
    top_level_keys: list[str] | None = Field(default=None, description="the first answer's keys, when the "
                                                                       "records path found nothing")
    suggestions: list[SuggestionShown] = Field(default_factory=list)
