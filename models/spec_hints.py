"""Suggestions for a connector spec, read off what the vendor answered, and the spec edits they make.

A test-read (`ihub connectors test`) calls these when the records path finds nothing (where the
records probably are) and when a spec has no pagination but the answer looks paged (a `Link`
header, a next URL, a cursor, a total). A suggestion is a set of edits to the spec; `revise`
applies them to the spec's YAML text with its comments and order kept, and `unified_diff`
shows them as the patch an operator can read and apply.
"""

from __future__ import annotations

import difflib
import io
from dataclasses import dataclass, field
from typing import Any, Mapping

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap


@dataclass
class Suggestion:
    reason: str
    """Why, in the operator's terms: "the records are the list at $.items (25 objects)"."""
    edits: dict[tuple[str, ...], Any] = field(default_factory=dict)
    """Spec key path -> its new value: ("records", "path") -> "$.items"; ("pagination",) -> {...}."""


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.default_flow_style = False
    yaml.width = 120
    return yaml


# ---------------------------------------------------------------- where the records are

def record_lists(body: Any, depth: int = 4) -> list[tuple[str, int]]:
    """Every list of JSON objects in `body`, as (path, length), largest first, then shallowest."""
    found: list[tuple[str, int, int]] = []

    def walk(value: Any, path: str, level: int) -> None:
        if isinstance(value, list):
            if value and all(isinstance(item, dict) for item in value):
                found.append((path, len(value), level))
            return
        if isinstance(value, dict) and level < depth:
            for key, inner in value.items():
                walk(inner, f"{path}.{key}" if _plain(key) else f"{path}['{key}']", level + 1)

    walk(body, "$", 0)
    found.sort(key=lambda item: (-item[1], item[2]))
    return [(path, length) for path, length, _ in found]


def _plain(key: str) -> bool:
    return key.replace("_", "a").replace("-", "a").isalnum() and not key[:1].isdigit()


def top_level_keys(body: Any) -> list[str]:
    return list(body) if isinstance(body, dict) else []


def suggest_records_path(body: Any, current: str) -> Suggestion | None:
    """Where the records probably are, when `current` found none: the largest list of objects."""
    lists = [(path, length) for path, length in record_lists(body) if path != current]
    if not lists:
        return None
    path, length = lists[0]
    return Suggestion(f"the records path {current} finds no records; the largest list of objects in the "
                      f"response is at {path} ({length} objects)", {("records", "path"): path})


# ---------------------------------------------------------------- whether the answer is paged

_NEXT_URL_KEYS = ("next", "next_url", "nextUrl", "next_page_url", "nextPageUrl", "next_link", "nextLink",
                  "@odata.nextLink")
_CURSOR_KEYS = {  # key in the answer -> the parameter it is usually sent back as
    "next_cursor": "cursor", "nextCursor": "cursor", "cursor": "cursor", "next_page_token": "page_token",
    "nextPageToken": "pageToken", "NextToken": "NextToken", "next_token": "next_token", "endCursor": "after",
    "after": "after", "starting_after": "starting_after",
}
_HAS_MORE_KEYS = ("has_more", "hasMore", "has_next", "hasNext", "hasNextPage", "more")
_TOTAL_KEYS = ("total", "total_count", "totalCount", "total_results", "totalResults", "count", "totalItems")
_TOTAL_PAGES_KEYS = ("total_pages", "totalPages", "page_count", "pageCount", "pages", "last_page")
_PAGE_KEYS = ("page", "current_page", "currentPage", "page_number", "pageNumber")
_SIZE_KEYS = ("per_page", "perPage", "page_size", "pageSize", "size", "limit")
_CURSOR_HEADERS = ("x-next-cursor", "x-next-page-token", "x-cursor", "x-continuation-token", "next-cursor")
_WRAPPERS = ("meta", "links", "_links", "paging", "pagination", "page_info", "pageInfo", "cursor", "response_metadata")


def _scalars(body: Any) -> dict[str, Any]:
    """The body's top-level scalars and those one level down in the usual wrappers, by path."""
    found: dict[str, Any] = {}
    if not isinstance(body, dict):
        return found
    for key, value in body.items():
        if not isinstance(value, (dict, list)):
            found[key] = value
        elif isinstance(value, dict) and key in _WRAPPERS:
            for inner, scalar in value.items():
                if isinstance(scalar, dict) and isinstance(scalar.get("href"), str):  # HAL: _links.next.href
                    found[f"{key}.{inner}.href"] = scalar["href"]
                elif not isinstance(scalar, (dict, list)):
                    found[f"{key}.{inner}"] = scalar
    return found


def _first(scalars: dict[str, Any], keys: tuple[str, ...] | Mapping[str, str], kind: type) -> str | None:
    """The first path whose last key is one of `keys` and whose value is a `kind` (a bool is no int)."""
    for path, value in scalars.items():
        if path.split(".")[-1] in keys and isinstance(value, kind) and (kind is bool) == isinstance(value, bool):
            return path
    return None


def _next_url(scalars: dict[str, Any]) -> str | None:
    for path, value in scalars.items():
        parts = path.split(".")
        named = parts[-2] == "next" if parts[-1] == "href" and len(parts) > 1 else parts[-1] in _NEXT_URL_KEYS
        if named and _looks_like_url(value):
            return path
    return None


def _looks_like_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://", "/", "?"))


def suggest_pagination(body: Any, headers: Mapping[str, str], links: Mapping[str, Any],
                       records: int) -> Suggestion | None:
    """The pagination block an answer with no pagination set looks like it needs, or None.

    `links` is the parsed `Link` header (httpx's `response.links`), `records` how many records the
    page had (a likely page size).
    """
    if "next" in links:
        return Suggestion('the response has a Link header with rel="next": the next page\'s URL',
                          {("pagination",): {"type": "advanced"}})
    scalars = _scalars(body)
    next_url = _next_url(scalars)
    stop = _first(scalars, _HAS_MORE_KEYS, bool)
    if next_url is not None:
        return Suggestion(f"the response has a next-page URL at {next_url}",
                          {("pagination",): {"type": "advanced", "next_url_path": next_url}})
    cursor = _first(scalars, _CURSOR_KEYS, str)
    if cursor is not None:
        block = {"type": "cursor", "cursor_path": cursor, "cursor_param": _CURSOR_KEYS[cursor.split(".")[-1]]}
        if stop is not None:
            block["has_more_path"] = stop
        return Suggestion(f"the response has a cursor at {cursor}; the parameter it is sent back as is a guess: "
                          "check the vendor's documentation", {("pagination",): block})
    header = next((name for name in headers if name.lower() in _CURSOR_HEADERS), None)
    if header is not None:
        return Suggestion(f"the response has a cursor in the {header} header; the parameter it is sent back "
                          "as is a guess: check the vendor's documentation",
                          {("pagination",): {"type": "cursor", "cursor_header": header, "cursor_param": "cursor"}})
    total = _first(scalars, _TOTAL_KEYS, int)
    total_pages = _first(scalars, _TOTAL_PAGES_KEYS, int)
    page = _first(scalars, _PAGE_KEYS, int)
    if page is not None or total_pages is not None:
        size_key = _first(scalars, _SIZE_KEYS, int)
        block = {"type": "page", "size": int(scalars[size_key]) if size_key else records or 100}
        if page is not None:
            block["page_param"] = page.split(".")[-1]
        if size_key is not None:
            block["size_param"] = size_key.split(".")[-1]
        if total_pages is not None:
            block["total_pages_path"] = total_pages
        elif total is not None:
            block["total_path"] = total
        return Suggestion(f"the response gives a page number or a page count ({page or total_pages}): page numbers",
                          {("pagination",): block})
    if total is not None and isinstance(scalars[total], int) and scalars[total] > records:
        return Suggestion(f"the response says there are {scalars[total]} records ({total}) but sent {records}: "
                          "limit/offset is a guess, check the vendor's documentation for its parameters",
                          {("pagination",): {"type": "offset", "limit": records or 100, "total_path": total}})
    return None


# ---------------------------------------------------------------- the edits, as YAML and as a diff

_ORDER = ("vendor", "request", "auth", "pagination", "records")


def revise(text: str, suggestions: list[Suggestion]) -> str:
    """The spec's YAML `text` with the suggestions' edits made, its comments and key order kept."""
    yaml = _yaml()
    data = yaml.load(text) or CommentedMap()
    for suggestion in suggestions:
        for keys, value in suggestion.edits.items():
            _set(data, keys, value)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _set(data: CommentedMap, keys: tuple[str, ...], value: Any) -> None:
    *parents, last = keys
    node = data
    for key in parents:
        if not isinstance(node.get(key), dict):
            _put(node, key, CommentedMap())
        node = node[key]
    _put(node, last, value)


def _put(node: CommentedMap, key: str, value: Any) -> None:
    """Set `key`; a new top-level section goes where a reader expects it (pagination after auth)."""
    if key in node or key not in _ORDER or not hasattr(node, "insert"):
        node[key] = value
        return
    before = _ORDER[:_ORDER.index(key)]
    position = max((index + 1 for index, existing in enumerate(node) if existing in before), default=len(node))
    node.insert(position, key, value)


def spec_yaml(data: dict[str, Any]) -> str:
    """A spec's data (as stored, or sent to the API) as YAML text."""
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def unified_diff(before: str, after: str, name: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=f"a/{name}", tofile=f"b/{name}"))
