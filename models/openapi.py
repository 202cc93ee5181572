"""Connector specs from an OpenAPI 3 (or Swagger 2) document: one per list endpoint.

A list endpoint answers a JSON array, or an object holding one (`$ref`s resolved, `allOf`
merged, `anyOf`/`oneOf` with null read as the other). For each, the spec gets the base URL, the
path and method, the auth the document declares (as the hub's auth types), the records path,
the pagination read off its parameters (query, or the JSON body of a POST) and response fields
(limit/offset, page/size, cursor/next, Link headers), a primary key guess (`id`, `*_id`,
`uuid`, `key`) and a mapping of the record's scalar fields: onto Asset or Person fields when
enough names match, else into a custom object's payload. Every guess carries a YAML comment.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any, get_args
from urllib.parse import urljoin, urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from models.errors import Invalid
from models.spec import AuthRef, ConnectorSpec
from models.targets import TARGET_FIELDS

GUESSED = "guessed"
_HTTP = ("get", "post")
_SCALARS = ("string", "integer", "number", "boolean")
_WRAPPER_NAMES = ("data", "items", "results", "records", "entries", "values", "objects", "rows", "list", "content")

_OFFSET = ("offset", "skip", "start", "from")
_LIMIT = ("limit", "per_page", "perPage", "page_size", "pageSize", "size", "count", "top", "max_results",
          "maxResults", "MaxResults")
_PAGE = ("page", "page_number", "pageNumber", "page_no")
_CURSOR_PARAMS = ("cursor", "after", "page_token", "pageToken", "starting_after", "next_token", "NextToken",
                  "continuation", "continuation_token", "next")
_NEXT_CURSOR = ("next_cursor", "nextCursor", "cursor", "next_page_token", "nextPageToken", "NextToken",
                "next_token", "endCursor", "after")
_NEXT_URL = ("next", "next_url", "nextUrl", "next_page", "next_page_url", "next_link", "nextLink", "@odata.nextLink")
_HAS_MORE = ("has_more", "hasMore", "has_next", "hasNextPage")
_TOTAL = ("total", "total_count", "totalCount", "total_results", "totalResults", "count", "totalItems")
_TOTAL_PAGES = ("total_pages", "totalPages", "page_count", "pageCount", "pages")

_SYNONYMS = {  # a vendor's field name (snake case) -> the hub's field, beyond exact matches
    "serial": "serial_number", "serialnumber": "serial_number", "tag": "asset_tag", "asset_tag_number": "asset_tag",
    "email_address": "email", "mail": "email", "given_name": "first_name", "firstname": "first_name",
    "family_name": "last_name", "surname": "last_name", "lastname": "last_name", "full_name": "display_name",
    "job_title": "title", "phone_number": "phone", "mobile_phone": "phone", "model_name": "model",
    "vendor": "manufacturer", "make": "manufacturer", "type": "category", "purchase_date": "purchased_at",
    "purchase_cost": "cost", "price": "cost", "site": "location", "assignee": "assigned_to",
}
_MIN_MATCHES = 3
"""Field names that must match an Asset's (or a Person's) for the records to be mapped onto it..."""
_DISTINCTIVE = {"asset": {"serial_number", "asset_tag", "model", "manufacturer", "purchased_at", "cost", "assigned_to"},
                "person": {"email", "first_name", "last_name", "manager_email"}}
"""... one of them one of these (a name, a status and a type are no asset)."""
_LISTING = ("filter", "search", "query", "list", "paginate", "find")


@dataclass
class Generated:
    """One spec written from the document."""

    method: str
    path: str
    file_name: str
    yaml: str
    spec: ConnectorSpec
    guesses: list[str] = field(default_factory=list)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).replace("-", "_").lower()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "api"


class _Document:
    def __init__(self, document: dict[str, Any]):
        if not isinstance(document, dict):
            raise Invalid("not an OpenAPI document: expected a JSON or YAML object")
        self.doc = document
        self.swagger = str(document.get("swagger", "")).startswith("2")
        if not self.swagger and not str(document.get("openapi", "")).startswith("3"):
            raise Invalid("not an OpenAPI 3 or Swagger 2 document: it has neither `openapi: 3.x` nor `swagger: '2.0'`")

    def resolve(self, schema: Any, seen: frozenset[str] = frozenset()) -> dict[str, Any]:
        """`schema` with its `$ref` followed, `allOf` merged and a nullable `anyOf`/`oneOf` read as its other."""
        if not isinstance(schema, dict):
            return {}
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref in seen or not ref.startswith("#/"):
                return {}
            target: Any = self.doc
            for part in ref[2:].split("/"):
                target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
            return self.resolve({**target, **{k: v for k, v in schema.items() if k != "$ref"}}, seen | {ref})
        if "allOf" in schema:
            merged: dict[str, Any] = {"type": "object", "properties": {}}
            for part in schema["allOf"]:
                resolved = self.resolve(part, seen)
                merged["properties"].update(resolved.get("properties", {}))
                merged.update({k: v for k, v in resolved.items() if k not in ("properties", "type")})
                if resolved.get("type") and resolved.get("type") != "object":
                    merged["type"] = resolved["type"]
            return {**merged, **{k: v for k, v in schema.items() if k != "allOf"}}
        for union in ("anyOf", "oneOf"):
            options = [o for o in schema.get(union, []) if not (isinstance(o, dict) and o.get("type") == "null")]
            if len(options) == 1:
                return self.resolve({**options[0], **{k: v for k, v in schema.items() if k != union}}, seen)
        if isinstance(schema.get("type"), list):  # OpenAPI 3.1: type: [string, "null"]
            kinds = [kind for kind in schema["type"] if kind != "null"]
            return {**schema, "type": kinds[0] if len(kinds) == 1 else "string"}
        return schema

    def base_url(self, source_url: str | None) -> tuple[str, bool]:
        """The API's base URL and whether it is a guess."""
        if self.swagger:
            host = self.doc.get("host")
            scheme = (self.doc.get("schemes") or ["https"])[0]
            base = f"{scheme}://{host}{self.doc.get('basePath', '')}" if host else None
        else:
            servers = self.doc.get("servers") or []
            base = None
            if servers and isinstance(servers[0], dict) and servers[0].get("url"):
                base = servers[0]["url"]
                for name, variable in (servers[0].get("variables") or {}).items():
                    base = base.replace("{" + name + "}", str(variable.get("default", "")))
        if base and base.startswith(("http://", "https://")):
            return base.rstrip("/"), False
        if source_url:  # a relative server URL, or none: where the document was served from
            directory = urljoin(source_url, ".")
            return urljoin(directory, base or ".").rstrip("/"), base is None
        return "https://api.example.com" + (base or "").rstrip("/"), True

    def responses_schema(self, operation: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The success answer's JSON schema (resolved) and its headers."""
        for status in ("200", "201", "206", "2XX", "default"):
            response = self.resolve((operation.get("responses") or {}).get(status))
            if not response:
                continue
            headers = response.get("headers") or {}
            if self.swagger:
                return self.resolve(response.get("schema")), headers
            content = response.get("content") or {}
            media = next((v for k, v in content.items() if "json" in k), None)
            if media is not None:
                return self.resolve(media.get("schema")), headers
        return {}, {}

    def parameters(self, path_item: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
        params = [self.resolve(p) for p in (path_item.get("parameters") or []) + (operation.get("parameters") or [])]
        return [p for p in params if p.get("name")]

    def body_schema(self, operation: dict[str, Any], params: list[dict[str, Any]]) -> dict[str, Any]:
        if self.swagger:
            body = next((p for p in params if p.get("in") == "body"), None)
            return self.resolve(body.get("schema")) if body else {}
        content = (self.resolve(operation.get("requestBody")).get("content") or {})
        media = next((v for k, v in content.items() if "json" in k), None)
        return self.resolve(media.get("schema")) if media else {}

    def security_schemes(self) -> dict[str, dict[str, Any]]:
        schemes = self.doc.get("securityDefinitions") if self.swagger else \
            (self.doc.get("components") or {}).get("securitySchemes")
        return {name: self.resolve(scheme) for name, scheme in (schemes or {}).items()}


def _records(doc: _Document, schema: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(records path, a record's schema) of a list answer, or None."""
    if schema.get("type") == "array" or "items" in schema and "properties" not in schema:
        return "$", doc.resolve(schema.get("items"))
    properties = schema.get("properties") or {}
    arrays = {name: doc.resolve(value) for name, value in properties.items()
              if doc.resolve(value).get("type") == "array"}
    if not arrays:
        for name, value in properties.items():  # one level down: {data: {items: [...]}}
            inner = doc.resolve(value)
            if inner.get("type") == "object" and name in _WRAPPER_NAMES + ("result", "response"):
                found = _records(doc, inner)
                if found and found[0] != "$":
                    return f"$.{name}{found[0][1:]}", found[1]
        return None
    name = next((n for n in arrays if n in _WRAPPER_NAMES), None) or next(
        (n for n, s in arrays.items() if doc.resolve(s.get("items")).get("type") == "object"
         or "properties" in doc.resolve(s.get("items"))), None) or next(iter(arrays))
    return f"$.{name}", doc.resolve(arrays[name].get("items"))


def _answer_fields(doc: _Document, schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The answer's scalar fields beside the records (and one level down), by path: `meta.total`."""
    found: dict[str, dict[str, Any]] = {}
    for name, value in (schema.get("properties") or {}).items():
        resolved = doc.resolve(value)
        if resolved.get("type") == "object":
            for inner, inner_value in (resolved.get("properties") or {}).items():
                found[f"{name}.{inner}"] = doc.resolve(inner_value)
        elif resolved.get("type") != "array":
            found[name] = resolved
    return found


def _pick(names: dict[str, Any], candidates: tuple[str, ...]) -> str | None:
    return next((candidate for candidate in candidates if candidate in names), None)


def _by_last(fields: dict[str, Any], candidates: tuple[str, ...]) -> str | None:
    return next((path for path in fields if path.split(".")[-1] in candidates), None)


def _page_size(schema: dict[str, Any] | None) -> int:
    """A page size within what the parameter allows: its maximum (at most 100), else its default, else 100."""
    schema = schema or {}
    for key in ("maximum", "default"):
        value = schema.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 1:
            return int(min(value, 100))
    return 100


def _pagination(doc: _Document, method: str, params: list[dict[str, Any]], body: dict[str, Any],
                answer: dict[str, Any], headers: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The pagination block and, when it is a guess, why."""
    if method == "post":
        names = {name: doc.resolve(value) for name, value in (body.get("properties") or {}).items()}
        location = "body"
    else:
        names = {p["name"]: doc.resolve(p.get("schema") or p) for p in params if p.get("in") == "query"}
        location = "query"
    where = {"location": "body"} if location == "body" else {}
    fields = _answer_fields(doc, answer)
    total = _by_last({k: v for k, v in fields.items() if v.get("type") == "integer"}, _TOTAL)
    offset, limit, page = _pick(names, _OFFSET), _pick(names, _LIMIT), _pick(names, _PAGE)
    cursor_param = _pick(names, _CURSOR_PARAMS)
    next_url = _by_last({k: v for k, v in fields.items() if v.get("type") == "string"}, _NEXT_URL)
    next_cursor = _by_last({k: v for k, v in fields.items() if v.get("type") == "string"}, _NEXT_CURSOR)
    if any(name.lower() == "link" for name in headers):
        return {"type": "advanced"}, 'the answer documents a Link header: the next page\'s URL (rel="next")'
    if offset and limit:
        block = {"type": "offset", "limit": _page_size(names[limit]), "limit_param": limit, "offset_param": offset,
                 **where}
        if total:
            block["total_path"] = total
        return block, None
    if page:
        block = {"type": "page", "size": _page_size(names.get(limit)) if limit else 100, "page_param": page, **where}
        if limit:
            block["size_param"] = limit
        pages = _by_last({k: v for k, v in fields.items() if v.get("type") == "integer"}, _TOTAL_PAGES)
        if pages:
            block["total_pages_path"] = pages
        elif total:
            block["total_path"] = total
        return block, None if limit else "the page size parameter is a guess"
    if cursor_param and next_cursor:
        block = {"type": "cursor", "cursor_path": next_cursor, "cursor_param": cursor_param, **where}
        has_more = _by_last({k: v for k, v in fields.items() if v.get("type") == "boolean"}, _HAS_MORE)
        if has_more:
            block["has_more_path"] = has_more
        if limit:
            block.update(size=_page_size(names[limit]), size_param=limit)
        return block, None
    if next_url:
        return {"type": "advanced", "next_url_path": next_url}, None
    if limit and not (offset or page or cursor_param):
        return {"type": "none"}, f"only a {limit} parameter: no way to ask for the next page was found"
    return {"type": "none"}, "no paging parameters or fields were found"


def _paging_names(pagination: dict[str, Any]) -> set[str]:
    return {value for name, value in pagination.items() if name.endswith("_param")} | {
        {"offset": "limit", "page": "per_page", "cursor": "cursor"}.get(pagination["type"], "")} - {""}


def _example(param: dict[str, Any], schema: dict[str, Any]) -> Any:
    for source in (param, schema, schema.get("items") or {}):
        for key in ("example", "default"):
            if isinstance(source.get(key), (str, int, float, bool)):
                return source[key]
        if source.get("enum"):
            return source["enum"][0]
    return {"integer": 0, "number": 0, "boolean": False}.get(schema.get("type"), "")


def _primary_key(properties: dict[str, Any], resource: str) -> str | None:
    names = list(properties)
    if "id" in names:
        return "id"
    singular = resource.rstrip("s")
    if f"{singular}_id" in names:
        return f"{singular}_id"
    for name in names:
        if name.endswith(("_id", "Id")):
            return name
    return next((name for name in names if name.lower() in ("uuid", "key", "guid", "name")), None)


def _scalar_fields(doc: _Document, item: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The record's scalar fields (name -> schema), and the names of the others (objects, lists)."""
    scalars, others = {}, []
    for name, value in (item.get("properties") or {}).items():
        resolved = doc.resolve(value)
        kind = resolved.get("type") or ("string" if "enum" in resolved else None)
        (scalars.__setitem__(name, resolved) if kind in _SCALARS else others.append(name))
    return scalars, others


def _target(scalars: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """asset, person or custom, and the target field -> the vendor's field it is filled from."""
    best, best_fields = "custom", {}
    for target in ("asset", "person"):
        allowed = set(TARGET_FIELDS[target])
        matched: dict[str, str] = {}
        for name in scalars:
            snake = _snake(name)
            hub = snake if snake in allowed else _SYNONYMS.get(snake)
            if hub in allowed and hub not in matched:
                matched[hub] = name
        if len(matched) >= _MIN_MATCHES and set(matched) & _DISTINCTIVE[target] and len(matched) > len(best_fields):
            best, best_fields = target, matched
    return best, best_fields


def _auth(doc: _Document, operation: dict[str, Any], vendor_slug: str) -> tuple[dict[str, Any], str]:
    """The auth block and its comment: what to create, from the scheme the document declares."""
    schemes = doc.security_schemes()
    required = operation.get("security", doc.doc.get("security"))
    names = [name for requirement in (required or []) for name in requirement] if required is not None \
        else list(schemes)
    scheme_name = next((name for name in names if name in schemes), None)
    block = f"{vendor_slug}-credentials"
    if scheme_name is None:
        if "none" in get_args(AuthRef.model_fields["type"].annotation):
            return {"type": "none"}, "the document declares no auth"
        return ({"type": "api_token", "block": block},
                f"{GUESSED}: the document declares no auth; if the API needs none, leave the token empty")
    scheme = schemes[scheme_name]
    kind, where = scheme.get("type"), scheme.get("in")
    if kind == "basic" or kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
        return {"type": "basic", "block": block}, f"from security scheme {scheme_name}: HTTP basic"
    if kind == "oauth2":
        flows = scheme.get("flows") or {}
        token_url = (flows.get("clientCredentials") or {}).get("tokenUrl") or scheme.get("tokenUrl") or \
            next((f.get("tokenUrl") for f in flows.values() if isinstance(f, dict) and f.get("tokenUrl")), None)
        return {"type": "oauth2", "block": block}, f"from security scheme {scheme_name}: OAuth2" + (
            f", token URL {token_url}" if token_url else "")
    if kind == "apiKey":
        return ({"type": "api_token", "block": block},
                f"from security scheme {scheme_name}: an API key in the {where} {scheme.get('name')!r}; "
                f"create the api_token credentials with that {'header_name (and an empty prefix)' if where == 'header' else 'placement and query_param'}")
    return {"type": "api_token", "block": block}, f"from security scheme {scheme_name}: a bearer token"


def _resource(path: str) -> str:
    """What a path lists, as a name: /api/v1/flow_runs/filter -> flow_runs."""
    parts = [part for part in path.split("/") if part and "{" not in part and part not in _LISTING
             and not re.match(r"(find|get|list|search|query)[A-Z_]", part)]  # /pet/findByStatus lists pets
    return re.sub(r"[^a-z0-9_]+", "_", _snake(parts[-1])).strip("_") if parts else "records"


def _source(name: str) -> str:
    """A field name as a path: `name`, or `['@odata.type']` when it is not a plain name."""
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", name) else f"['{name}']"


def _field_name(name: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", _snake(name)).strip("_") or "field"


def _is_list(method: str, path: str, body: dict[str, Any]) -> bool:
    """GET, or a POST that searches: its body takes an offset, a page or a cursor, or its path says so."""
    if method == "get":
        return True
    names = set((body.get("properties") or {}))
    return bool(names & set(_OFFSET + _PAGE + _CURSOR_PARAMS)) or path.rstrip("/").split("/")[-1] in _LISTING


def _file_name(method: str, path: str) -> str:
    name = _slug(re.sub(r"\{[^}]*\}", "by", path))
    return f"{name}.yaml" if method == "get" else f"{method}-{name}.yaml"


def generate(document: dict[str, Any], source: str, source_url: str | None = None, only_path: str | None = None,
             base_url: str | None = None) -> list[Generated]:
    """A spec for each list endpoint of `document` (or only `only_path`), validated as a ConnectorSpec."""
    doc = _Document(document)
    info = document.get("info") or {}
    vendor = str(info.get("title") or "Vendor API")
    base, base_guessed = (base_url.rstrip("/"), False) if base_url else doc.base_url(source_url)
    paths = document.get("paths") or {}
    if only_path is not None and only_path not in paths:
        near = [p for p in paths if only_path.strip("/").split("/")[-1] in p][:5]
        raise Invalid(f"the document has no path {only_path}" + (f"; similar: {', '.join(near)}" if near else ""))
    generated = []
    for path, path_item in paths.items():
        if only_path is not None and path != only_path or not isinstance(path_item, dict):
            continue
        for method in _HTTP:
            operation = path_item.get(method)
            if not isinstance(operation, dict):
                continue
            params = doc.parameters(path_item, operation)
            if "{" in path and only_path is None:
                continue  # a child listing needs a parent's value (dependent streams are not supported yet)
            body = doc.body_schema(operation, params) if method == "post" else {}
            if not _is_list(method, path, body):
                continue
            answer, headers = doc.responses_schema(operation)
            found = _records(doc, answer)
            if found is None or not _scalar_fields(doc, found[1])[0]:
                continue  # no list, or a list of things that are not records (ids, strings)
            generated.append(_spec(doc, vendor, source, base, base_guessed, path, method, operation, params,
                                   body, answer, headers, found))
    if only_path is not None and not generated:
        raise Invalid(f"{only_path} answers no list of records (no GET or paged POST whose answer is an array "
                      "of objects, or an object holding one)")
    return generated


def _spec(doc, vendor, source, base, base_guessed, path, method, operation, params, body, answer, headers,
          found) -> Generated:
    records_path, item = found
    resource = _resource(path)
    guesses: list[str] = []
    scalars, others = _scalar_fields(doc, item)
    pagination, paging_note = _pagination(doc, method, params, body, answer, headers)
    key = _primary_key(scalars, resource)
    target, matched = _target(scalars)
    auth, auth_note = _auth(doc, operation, _slug(vendor))

    data = CommentedMap()
    data["vendor"] = vendor
    request = CommentedMap(base_url=base, path=path, method=method.upper())
    paging = _paging_names(pagination)
    required = {p["name"]: p for p in params if p.get("in") == "query" and p.get("required")
                and p["name"] not in paging}
    if required:
        request["params"] = CommentedMap()
        for name, param in required.items():
            schema = doc.resolve(param.get("schema") or param)
            request["params"][name] = _example(param, schema)
            request["params"].yaml_add_eol_comment(f"{GUESSED}: a required parameter; set its value", name)
        guesses.append("required parameters")
    if method == "post":
        request["body"] = {}
    data["request"] = request
    if "{" in path:
        request.yaml_add_eol_comment(f"{GUESSED}: write a value in place of each {{parameter}}", "path")
        guesses.append("path parameters")
    if base_guessed:
        request.yaml_add_eol_comment(f"{GUESSED}: the document names no server; set the API's address", "base_url")
        guesses.append("base_url")
    data["auth"] = CommentedMap(auth)
    data["auth"].yaml_add_eol_comment(auth_note, "type")
    if auth_note.startswith(GUESSED):
        guesses.append("auth")
    data["pagination"] = CommentedMap(pagination)
    if paging_note:
        data["pagination"].yaml_add_eol_comment(f"{GUESSED}: {paging_note}", "type")
        guesses.append("pagination")
    data["records"] = CommentedMap(path=records_path)
    mapping = CommentedMap()
    if key is not None:
        mapping["external_id"] = _source(key)
        mapping.yaml_add_eol_comment(f"{GUESSED}: the primary key", "external_id")
        guesses.append("primary key")
    if target == "custom":
        for name in scalars:
            if name != key and _field_name(name) not in mapping:
                mapping[_field_name(name)] = _source(name)
    else:
        for hub_field, name in matched.items():
            mapping[hub_field] = _source(name)
            if _snake(name) != hub_field:
                mapping.yaml_add_eol_comment(f"{GUESSED}: {name} looks like the {target}'s {hub_field}", hub_field)
    data["mapping"] = mapping
    if key is not None:
        data["sync_key"] = "external_id"
    data["target"] = CommentedMap(object=target)
    if target == "custom":
        data["target"]["custom_type"] = resource
    else:
        data["target"].yaml_add_eol_comment(f"{GUESSED}: {len(matched)} field names match the {target}'s", "object")
        guesses.append("target")
    header = (f"Written by `ihub connectors from-openapi` from {source} ({vendor} {doc.doc.get('info', {}).get('version', '')}"
              f"): {method.upper()} {path}.\n")
    if operation.get("summary"):
        header += f"{operation['summary']}\n"
    header += "Check the lines marked 'guessed', then: ihub connectors test THIS_FILE"
    if others:
        header += f"\nNot mapped (objects and lists): {', '.join(others)}"
    if key is None:
        header += "\nNo primary key was found: map one as external_id and set sync_key before activating"
    data.yaml_set_start_comment(header)
    text = _dump(data)
    import yaml as pyyaml

    spec = ConnectorSpec.parse(pyyaml.safe_load(text), source=f"{method.upper()} {path}")
    return Generated(method.upper(), path, _file_name(method, path), text, spec, guesses)


def _dump(data: CommentedMap) -> str:
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 120
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def describe_source(location: str) -> str:
    """How a document's location reads in a spec's header: a URL without its query, or the file's name."""
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme in ("http", "https") else location
