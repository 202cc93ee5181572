"""The demo vendor: a small asset-management API that serves assets and users.

It behaves like the vendors the hub talks to: a bearer token, and the same records behind
every pagination style the universal connector supports (`/api/v1` limit/offset with
`data.<kind>` and `meta.total`; `/api/pages` page numbers; `/api/cursor` a cursor in the body
and the `X-Next-Cursor` header; `/api/link` the `Link` header, with `?next_host=` putting the
next page on another host name, same port; `/api/next` a relative next URL in the body;
`POST /api/search` a `NextToken` in the JSON body). `/api/v1` also sends the total in
`X-Total-Count`; `json_content_type` labels the listings otherwise than `application/json`, as
some vendors do, and a wrong SigV4 signature is refused as AWS refuses it (403 `SignatureDoesNotMatch`). `PUT /api/v1/<kind>/<id>` updates the
fields it is given (nested objects merged), refusing unknown fields, wrong JSON types and
statuses it does not know with 422. Tests can change a record (`PATCH /admin/<kind>/<id>`),
queue faults (`data.faults`, `POST /admin/faults`: an error, a slow answer, an empty page, a
cut-off body) and change the records while a run reads them (`data.mutations`: an insert, a
delete or an update made just before the Nth request). `data.latency` (`--latency-ms`) delays
every API answer as a distant vendor's would be, without holding up the other requests; every API
request's arrival time is kept in `data.arrivals`, so tests can count requests per second.

Groups of users (`/api/v1/groups`, by offset) have members, listed per group for dependent streams:
`/api/v1/groups/<id>/members` by page number (`page`, `per_page`, `total`), `/api/cursor/groups/<id>/members`
by a cursor in the body; both take `updated_since`. `data.members` holds them by group id, and
`data.group_faults` makes one group's members answer a fault every time.

`/api/v1` lists records in their stored order (as added, unless a mutation inserted one
elsewhere), or as `sort` asks (`id`, `updated_at,id`); an `updated_since` listing is ordered by
`updated_at,id`, so an updated record moves to its end. `POST /oauth/token` is an OAuth2 token
endpoint (client credentials, and refresh tokens that
rotate on every use). For benchmarks it can pre-render every page so that it is never the
bottleneck.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import random
import secrets
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator
from urllib.parse import parse_qsl

import orjson
import uvicorn
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

MAX_LIMIT = 5000

_MODELS = [
    ("MacBook Pro 14", "Apple", "Laptop"),
    ("ThinkPad X1 Carbon", "Lenovo", "Laptop"),
    ("Latitude 7440", "Dell", "Laptop"),
    ("iPhone 15", "Apple", "Phone"),
    ("Galaxy S24", "Samsung", "Phone"),
    ("UltraSharp U2723QE", "Dell", "Monitor"),
    ("iPad Air", "Apple", "Tablet"),
]
_EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)
_STAMP = "%Y-%m-%dT%H:%M:%SZ"
_STATUSES = {"assets": ("deployed", "in_stock", "repair", "retired"), "users": ("active", "suspended")}
_READ_ONLY = ("id", "updated_at")
_SITES = ["Berlin", "Boston", "Lisbon", "Singapore", "Toronto"]
_DEPARTMENTS = ["Engineering", "Finance", "Sales", "Support", "People"]
_FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"]
_LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Berners-Lee"]


def make_users(count: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    users = []
    for n in range(1, count + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        users.append({
            "id": n,
            "email": f"{first}.{last}.{n}@example.com".lower(),
            "name": {"first": first, "last": last},
            "title": rng.choice(["Engineer", "Analyst", "Manager", "Designer"]),
            "department": rng.choice(_DEPARTMENTS),
            "status": "active" if rng.random() > 0.1 else "suspended",
            "manager": {"email": f"manager.{1 + n % 25}@example.com"},
            "phone": f"+1-555-{n % 10000:04d}",
        })
    return users


def make_groups(count: int, users: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[int, list[Any]]]:
    """Groups of users, and each group's members by group id: up to 25 a group, every seventh group
    empty, a user in several groups; the first member of a group is its owner."""
    rng = random.Random(11)
    groups, members = [], {}
    for n in range(1, count + 1):
        groups.append({"id": n, "name": f"{_DEPARTMENTS[n % len(_DEPARTMENTS)]} team {n}",
                       "updated_at": (_EPOCH + timedelta(hours=n)).strftime(_STAMP)})
        size = 0 if n % 7 == 0 or not users else rng.randrange(1, min(25, len(users)) + 1)
        chosen = sorted(rng.sample(range(len(users)), size))
        members[n] = [{"id": users[i]["id"], "email": users[i]["email"], "name": dict(users[i]["name"]),
                       "role": "owner" if place == 0 else "member",
                       "updated_at": (_EPOCH + timedelta(hours=n, minutes=place)).strftime(_STAMP)}
                      for place, i in enumerate(chosen)]
    return groups, members


def make_assets(count: int, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rng = random.Random(42)
    assets = []
    for n in range(1, count + 1):
        model, maker, category = rng.choice(_MODELS)
        owner = rng.choice(users) if users and rng.random() > 0.2 else None
        bought = date(2021, 1, 1) + timedelta(days=rng.randrange(1400))
        assets.append({
            "id": n,
            "asset_tag": f"AT-{n:06d}",
            "name": f"{model} #{n}",
            "serial": f"SN{rng.randrange(16**10):010X}",
            "model": {"name": model, "manufacturer": maker, "category": category},
            "status": rng.choice(_STATUSES["assets"]),
            "assignee": {"email": owner["email"]} if owner else None,
            "location": {"site": rng.choice(_SITES)},
            "purchase": {"date": bought.isoformat(), "cost": round(rng.uniform(150, 3500), 2)},
            "updated_at": (_EPOCH + timedelta(minutes=n)).strftime(_STAMP),
        })
    return assets


@dataclass
class Fault:
    """One bad answer the vendor gives instead of a page, to test how the hub copes."""

    status: int = 500
    retry_after: str | None = None
    delay: float = 0.0
    """Seconds to wait before answering (a slow vendor)."""
    body: str | None = None
    content_type: str = "application/json"
    cut_off: bool = False
    """Announce a longer body than is sent, then close the connection (a response cut off mid-body)."""
    empty_page: bool = False
    """Answer 200 with the page asked for, but without its records: the total and the next cursor stay."""

    async def answer(self) -> Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        body = self.body if self.body is not None else orjson.dumps({"error": f"injected fault {self.status}"})
        answer = _CutOff if self.cut_off else Response
        return answer(body, status_code=self.status, media_type=self.content_type, headers=headers)


class _CutOff(Response):
    """Sends its headers with a Content-Length 1000 bytes longer than the body, then the body, then
    stops: the server closes the connection (and logs that the response was not completed)."""

    async def __call__(self, scope, receive, send) -> None:
        headers = [(name, value) for name, value in self.raw_headers if name != b"content-length"]
        headers.append((b"content-length", str(len(self.body) + 1000).encode()))
        await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": True})


@dataclass
class Mutation:
    """A change at the vendor while a run reads it, made just before API request number `before`
    (counted as `VendorData.requests` counts them, retries included)."""

    before: int
    insert_at: int | None = None
    """Add a new record at this place in the listing (0 is the first)."""
    delete_at: int | None = None
    """Remove the record at this place in the listing."""
    touch: int | None = None
    """Update the record with this id: it moves to the end of a listing ordered by updated_at."""
    changes: dict[str, Any] = field(default_factory=dict)
    """What the update of `touch` changes, besides `updated_at`."""
    fault: Fault | None = None
    """Answer the request with this fault, e.g. `Fault(empty_page=True)` at the Nth request."""
    kind: str = "assets"

    def apply(self, data: VendorData) -> None:
        items = data.records[self.kind]
        if self.insert_at is not None:
            items.insert(self.insert_at, data.new_record(self.kind))
        if self.delete_at is not None:
            del items[self.delete_at]
        if self.touch is not None:
            record = data.find(self.kind, self.touch)
            _merge(record, self.changes)
            record["updated_at"] = data.later_stamp(self.kind)
        if self.fault is not None:
            data.faults.insert(0, self.fault)
        data.rendered.clear()


_ORDERS = {"id": lambda item: item["id"], "updated_at,id": lambda item: (item.get("updated_at", ""), item["id"])}


@dataclass
class VendorData:
    """The vendor's records and its pre-rendered pages (keyed by kind, limit, offset)."""

    token: str
    records: dict[str, list[dict[str, Any]]]
    rendered: dict[tuple[str, int, int], bytes] = field(default_factory=dict)
    requests: int = 0
    faults: list[Fault] = field(default_factory=list)
    """Answered, in order, instead of the next API requests (`POST /admin/faults` adds them)."""
    mutations: list[Mutation] = field(default_factory=list)
    """Changes made just before the requests they name."""
    latency: float = 0.0
    """Seconds added to every API answer (awaited, so other requests are served meanwhile)."""
    arrivals: list[float] = field(default_factory=list)
    """When each API request arrived (`time.monotonic()`), in order."""

    members: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    """Each group's members, by group id (the groups are `records["groups"]`); a group listed without
    an entry here answers 404 for its members, as a group deleted in between does."""
    group_faults: dict[int, Fault] = field(default_factory=dict)
    """Answered to every request for that group's members (a broken group); an `empty_page` fault empties
    each of its pages, the total kept."""

    json_content_type: str = "application/json"
    """The content type the listings are labelled with; some vendors (and moto) say text/html."""

    oauth_client_id: str = "demo-client"
    """The OAuth2 client the token endpoint knows; its secret is the token."""
    token_ttl: int = 3600
    access_tokens: dict[str, float] = field(default_factory=dict)
    """Access tokens handed out, with when they expire."""
    refresh_tokens: set[str] = field(default_factory=set)
    token_requests: int = 0

    def issue_refresh_token(self) -> str:
        """A refresh token the token endpoint accepts once (it rotates on use)."""
        token = "rt-" + secrets.token_urlsafe(16)
        self.refresh_tokens.add(token)
        return token

    def _grant(self, form: dict[str, str], basic: str | None) -> tuple[dict[str, Any], int]:
        """The token endpoint's answer to a token request, RFC 6749 style."""
        self.token_requests += 1
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if basic:
            client_id, _, client_secret = base64.b64decode(basic).decode().partition(":")
        if client_id != self.oauth_client_id or not secrets.compare_digest(client_secret or "", self.token):
            return {"error": "invalid_client"}, 401
        answer: dict[str, Any] = {"token_type": "Bearer", "expires_in": self.token_ttl}
        grant = form.get("grant_type")
        if grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return {"error": "invalid_grant"}, 400
            self.refresh_tokens.discard(form["refresh_token"])
            answer["refresh_token"] = self.issue_refresh_token()
        elif grant != "client_credentials":
            return {"error": "unsupported_grant_type"}, 400
        access = "at-" + secrets.token_urlsafe(16)
        self.access_tokens[access] = time.time() + self.token_ttl
        answer["access_token"] = access
        return answer, 200

    aws_access_key_id: str = "AKIADEMOVENDOR"
    """SigV4 requests are verified for this key, with the token as its secret."""
    max_signature_age: int = 300
    now: Any = time.time

    def verify_sigv4(self, method: str, url: str, headers: Any, body: bytes) -> bool:
        """Recompute the request's SigV4 signature from the shared secret; refuse a wrong or stale one."""
        try:
            scheme, _, fields = headers["authorization"].partition(" ")
            parts = dict(part.strip().split("=", 1) for part in fields.split(","))
            key, day, region, service, _ = parts["Credential"].split("/")
            stamp = headers["x-amz-date"]
            signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
        except (KeyError, ValueError):
            return False
        if scheme != "AWS4-HMAC-SHA256" or key != self.aws_access_key_id:
            return False
        if abs(self.now() - signed_at) > self.max_signature_age:
            return False
        signed = {name: headers[name] for name in parts["SignedHeaders"].split(";") if name in headers}
        request = AWSRequest(method=method, url=url, data=body, headers=signed)
        request.context["timestamp"] = stamp
        token = headers.get("x-amz-security-token")
        signer = SigV4Auth(Credentials(key, self.token, token), service, region)
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        return secrets.compare_digest(expected, parts["Signature"])

    basic_user: str = "demo"
    """Basic authentication is accepted for this user, with the token as the password."""

    def accepted_authorizations(self) -> tuple[str, ...]:
        """`Authorization` values accepted: the token as Bearer or SSWS (Okta's prefix), or Basic."""
        basic = base64.b64encode(f"{self.basic_user}:{self.token}".encode()).decode()
        return f"Bearer {self.token}", f"SSWS {self.token}", f"Basic {basic}"

    def page(self, kind: str, limit: int, offset: int, updated_since: str | None = None, sort: str | None = None,
             empty: bool = False) -> bytes:
        plain = updated_since is None and sort is None and not empty
        cached = self.rendered.get((kind, limit, offset)) if plain else None
        if cached is not None:
            return cached
        items = self.records[kind]
        if updated_since is not None:  # ISO stamps in one format compare as text
            items = [item for item in items if item.get("updated_at", "") >= updated_since]
            sort = sort or "updated_at,id"
        if sort is not None:
            items = sorted(items, key=_ORDERS[sort])
        return orjson.dumps({
            "data": {kind: [] if empty else items[offset:offset + limit]},
            "meta": {"total": len(items), "limit": limit, "offset": offset},
        })

    def total(self, kind: str, updated_since: str | None = None) -> int:
        """How many records a listing has: every one, or those updated since `updated_since`."""
        items = self.records[kind]
        if updated_since is None:
            return len(items)
        return sum(1 for item in items if item.get("updated_at", "") >= updated_since)

    def prerender(self, limits: list[int]) -> None:
        self.rendered.clear()
        for kind, items in self.records.items():
            for limit in limits:
                for offset in range(0, len(items) + 1, limit):
                    self.rendered[(kind, limit, offset)] = self.page(kind, limit, offset)

    def later_stamp(self, kind: str) -> str:
        """Now, or a second after the newest `updated_at` if that is later: updates always sort last."""
        newest = max((item.get("updated_at", "") for item in self.records[kind]), default="")
        now = datetime.now(timezone.utc)
        if newest:
            now = max(now, datetime.strptime(newest, _STAMP).replace(tzinfo=timezone.utc) + timedelta(seconds=1))
        return now.strftime(_STAMP)

    def new_record(self, kind: str) -> dict[str, Any]:
        """A record like the others of `kind`, with the next id."""
        record = copy.deepcopy(self.records[kind][0])
        record["id"] = max(item["id"] for item in self.records[kind]) + 1
        for name, value in (("name", f"Inserted #{record['id']}"), ("asset_tag", f"AT-{record['id']:06d}"),
                            ("email", f"inserted.{record['id']}@example.com"), ("updated_at", self.later_stamp(kind))):
            if name in record:
                record[name] = value
        return record

    def find(self, kind: str, record_id: int | str) -> dict[str, Any] | None:
        return next((record for record in self.records[kind] if str(record["id"]) == str(record_id)), None)

    def update(self, kind: str, record_id: int | str, changes: dict[str, Any]) -> dict[str, Any] | None:
        """Merge `changes` into the record (nested objects too); None for an unknown id."""
        record = self.find(kind, record_id)
        if record is None:
            return None
        _merge(record, changes)
        if "updated_at" in record:
            record["updated_at"] = datetime.now(timezone.utc).strftime(_STAMP)
        self.rendered.clear()  # stale now; benchmarks never change records
        return record


def _merge(record: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(record.get(key), dict) and isinstance(value, dict):
            _merge(record[key], value)
        else:
            record[key] = value


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "text", dict: "an object", list: "a list"}.get(type(value), type(value).__name__)


def refusals(kind: str, record: dict[str, Any], changes: dict[str, Any], prefix: str = "") -> list[str]:
    """Why the vendor will not apply `changes` to `record` (the reasons of a 422).

    Unknown fields, wrong JSON types, changed read-only fields and unknown statuses are refused;
    a null may replace anything, and anything may replace a null.
    """
    problems = []
    for key, value in changes.items():
        name = prefix + key
        if key not in record:
            problems.append(f"{name}: unknown field")
            continue
        current = record[key]
        if isinstance(current, dict) and isinstance(value, dict):
            problems += refusals(kind, current, value, prefix=f"{name}.")
        elif current is not None and value is not None and _json_kind(current) != _json_kind(value):
            problems.append(f"{name}: expected {_json_kind(current)}, got {_json_kind(value)}")
        elif not prefix and key in _READ_ONLY and value != current:
            problems.append(f"{name}: read-only")
        elif not prefix and key == "status" and kind in _STATUSES and value not in (None, *_STATUSES[kind]):
            problems.append(f"status: {value!r} is not one of {', '.join(_STATUSES[kind])}")
    return problems


def _json(data: Any, status: int = 200) -> Response:
    body = data if isinstance(data, bytes) else orjson.dumps(data)
    return Response(body, status_code=status, media_type="application/json")


def build_app(data: VendorData) -> Starlette:
    async def authorized(request: Request) -> bool:
        """The token in `Authorization`, an `X-API-Key` header or the `api_key` parameter; or SigV4."""
        given = request.headers.get("authorization", "")
        if given.startswith("AWS4-HMAC-SHA256 "):
            return data.verify_sigv4(request.method, str(request.url), request.headers, await request.body())
        if any(secrets.compare_digest(given, accepted) for accepted in data.accepted_authorizations()):
            return True
        if given.startswith("Bearer ") and data.access_tokens.get(given[7:], 0) > time.time():
            return True
        other = request.headers.get("x-api-key") or request.query_params.get("api_key") or ""
        return secrets.compare_digest(other, data.token)

    async def refusal(request: Request) -> Response | None:
        """401 without the token, 404 for an unknown collection; None when the request may go on."""
        if not await authorized(request):
            if request.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 "):  # as AWS refuses
                return _json({"__type": "com.amazon.coral.service#SignatureDoesNotMatch",
                              "message": "The request signature we calculated does not match the signature you "
                                         "provided. Check your AWS Secret Access Key and signing method."}, 403)
            return _json({"error": "invalid or missing API token"}, 401)
        kind = request.path_params.get("kind")
        if kind is not None and kind not in data.records:
            return _json({"error": f"no such collection: {kind}"}, 404)
        return None

    async def prelude(request: Request) -> Response | None:
        """Every API request is counted and authenticated, and may get an injected fault instead; what
        it meets is settled when it arrives, then it waits out the vendor's latency."""
        data.requests += 1
        data.arrivals.append(time.monotonic())
        for mutation in [mutation for mutation in data.mutations if mutation.before == data.requests]:
            mutation.apply(data)
        refused = await refusal(request)
        fault = data.faults.pop(0) if data.faults and refused is None else None
        if data.latency:
            await asyncio.sleep(data.latency)
        if refused:
            return refused
        if fault is not None:
            if not fault.empty_page:
                return await fault.answer()
            request.state.empty_page = True
        return None

    async def write(request: Request) -> Response:
        """PUT one record: the fields given are changed, if the vendor accepts every one of them."""
        if early := await prelude(request):
            return early
        kind, record_id = request.path_params["kind"], request.path_params["record_id"]
        try:
            changes = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _json({"error": "the body is not JSON"}, 400)
        record = data.find(kind, record_id)
        if record is None:
            return _json({"error": f"no such record: {kind}/{record_id}"}, 404)
        if not isinstance(changes, dict):
            return _json({"error": f"the body must be a JSON object, got {_json_kind(changes)}"}, 422)
        if problems := refusals(kind, record, changes):
            return _json({"error": "; ".join(problems)}, 422)
        return _json(data.update(kind, record_id, changes))

    async def change(request: Request) -> Response:
        if refused := await refusal(request):
            return refused
        record = data.update(request.path_params["kind"], request.path_params["record_id"], orjson.loads(await request.body()))
        return _json(record) if record else _json({"error": "no such record"}, 404)

    async def add_faults(request: Request) -> Response:
        if not await authorized(request):
            return _json({"error": "invalid or missing API token"}, 401)
        try:
            data.faults.extend(Fault(**fault) for fault in orjson.loads(await request.body()))
        except (TypeError, orjson.JSONDecodeError) as exc:
            return _json({"error": f"a list of faults: {exc}"}, 400)
        return _json({"queued": len(data.faults)})

    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))  # application/x-www-form-urlencoded
        given = request.headers.get("authorization", "")
        answer, status = data._grant(form, given[6:] if given.startswith("Basic ") else None)
        return _json(answer, status)

    def styled(handler):
        """The refusals and bad paging values handled once for every pagination style."""

        async def endpoint(request: Request) -> Response:
            if early := await prelude(request):
                return early
            body = orjson.loads(await request.body() or b"{}") if request.method == "POST" else {}
            try:
                response = handler(request, request.path_params["kind"], body)
            except (TypeError, ValueError):
                return _json({"error": "paging values must be integers or cursors this API handed out"}, 400)
            if response.status_code == 200:
                response.headers["content-type"] = data.json_content_type
            return response

        return endpoint

    def by_offset(request: Request, kind: str, body: dict) -> Response:
        limit = int(request.query_params.get("limit", 100))
        offset = int(request.query_params.get("offset", 0))
        if not 0 < limit <= MAX_LIMIT or offset < 0:
            return _json({"error": f"limit must be 1..{MAX_LIMIT} and offset >= 0"}, 400)
        sort = request.query_params.get("sort")
        if sort is not None and sort not in _ORDERS:
            return _json({"error": f"sort must be one of {', '.join(_ORDERS)}"}, 400)
        updated_since = request.query_params.get("updated_since")
        response = _json(data.page(kind, limit, offset, updated_since, sort, _empty(request)))
        response.headers["X-Total-Count"] = str(data.total(kind, updated_since))  # the total, as many APIs send it
        return response

    def by_page(request: Request, kind: str, body: dict) -> Response:
        items = data.records[kind]
        number, size = int(request.query_params.get("page", 1)), int(request.query_params.get("per_page", 100))
        pages = -(-len(items) // size)
        return _json({"items": _window(request, items, (number - 1) * size, number * size), "page": number,
                      "per_page": size, "total_pages": pages, "total": len(items)})

    def by_cursor(request: Request, kind: str, body: dict) -> Response:
        items = data.records[kind]
        offset = _decode_cursor(request.query_params.get("cursor"))
        size = int(request.query_params.get("limit", 100))
        end = offset + size
        looping = request.query_params.get("loop") == "1"  # fault: always hands out the same cursor
        cursor = _encode_cursor(size if looping else end) if end < len(items) else None
        response = _json({"results": _window(request, items, offset, end), "next_cursor": cursor,
                          "has_more": cursor is not None})
        if cursor:
            response.headers["X-Next-Cursor"] = cursor
        return response

    def by_link(request: Request, kind: str, body: dict) -> Response:
        items = data.records[kind]
        after, size = int(request.query_params.get("after", 0)), int(request.query_params.get("limit", 100))
        response = _json(items[after:after + size])  # a bare list, as identity providers answer
        if after + size < len(items):
            following = request.url.replace_query_params(limit=size, after=after + size)
            if other := request.query_params.get("next_host"):  # fault: the next page on another host name
                following = following.replace(hostname=other).include_query_params(next_host=other)
            response.headers["Link"] = f'<{following}>; rel="next"'
        return response

    def by_next_path(request: Request, kind: str, body: dict) -> Response:
        items = data.records[kind]
        number, size = int(request.query_params.get("page", 1)), 100
        last = number * size >= len(items)
        following = None if last else f"{request.url.path}?page={number + 1}"  # relative, as many APIs do
        return _json({"data": items[(number - 1) * size:number * size], "links": {"next": following},
                      "meta": {"last_page": last}})

    def by_body_token(request: Request, kind: str, body: dict) -> Response:
        items = data.records[kind]
        offset, size = _decode_cursor(body.get("NextToken")), int(body.get("MaxResults", 100))
        answer = {"Items": items[offset:offset + size]}
        if offset + size < len(items):
            answer["NextToken"] = _encode_cursor(offset + size)
        return _json(answer)

    def members_of(handler):
        """A group's members, paged by `handler`; 404 for a group without members on record."""

        async def endpoint(request: Request) -> Response:
            if early := await prelude(request):
                return early
            group = request.path_params["group_id"]
            fault = data.group_faults.get(group)
            if fault is not None:
                if not fault.empty_page:
                    return await fault.answer()
                request.state.empty_page = True
            if group not in data.members:
                return _json({"error": f"no such group: {group}"}, 404)
            items = data.members[group]
            if since := request.query_params.get("updated_since"):
                items = [item for item in items if item["updated_at"] >= since]
            try:
                return handler(request, items)
            except (TypeError, ValueError):
                return _json({"error": "paging values must be integers or cursors this API handed out"}, 400)

        return endpoint

    def members_by_page(request: Request, items: list[Any]) -> Response:
        number, size = int(request.query_params.get("page", 1)), int(request.query_params.get("per_page", 10))
        return _json({"items": _window(request, items, (number - 1) * size, number * size), "page": number,
                      "per_page": size,
                      "total_pages": -(-len(items) // size), "total": len(items)})

    def members_by_cursor(request: Request, items: list[Any]) -> Response:
        offset, size = _decode_cursor(request.query_params.get("cursor")), int(request.query_params.get("limit", 10))
        cursor = _encode_cursor(offset + size) if offset + size < len(items) else None
        return _json({"results": _window(request, items, offset, offset + size), "next_cursor": cursor,
                      "has_more": cursor is not None})

    return Starlette(routes=[
        Route("/api/v1/groups/{group_id:int}/members", members_of(members_by_page), methods=["GET"]),
        Route("/api/cursor/groups/{group_id:int}/members", members_of(members_by_cursor), methods=["GET"]),
        Route("/api/v1/{kind}", styled(by_offset), methods=["GET"]),
        Route("/api/v1/{kind}/{record_id}", write, methods=["PUT"]),
        Route("/api/pages/{kind}", styled(by_page), methods=["GET"]),
        Route("/api/cursor/{kind}", styled(by_cursor), methods=["GET"]),
        Route("/api/link/{kind}", styled(by_link), methods=["GET"]),
        Route("/api/next/{kind}", styled(by_next_path), methods=["GET"]),
        Route("/api/search/{kind}", styled(by_body_token), methods=["POST"]),
        Route("/admin/{kind}/{record_id:int}", change, methods=["PATCH"]),
        Route("/admin/faults", add_faults, methods=["POST"]),
        Route("/oauth/token", token, methods=["POST"]),
    ])


def _empty(request: Request) -> bool:
    """Whether an injected `Fault(empty_page=True)` empties this answer."""
    return getattr(request.state, "empty_page", False)


def _window(request: Request, items: list[Any], start: int, end: int) -> list[Any]:
    return [] if _empty(request) else items[start:end]


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    kind, _, offset = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    if kind != "offset":
        raise ValueError(cursor)
    return int(offset)


def make_vendor(assets: int = 2500, users: int = 500, token: str | None = None,
                prerender: list[int] | None = None, latency: float = 0.0, groups: int = 30) -> VendorData:
    people = make_users(users)
    group_list, members = make_groups(groups, people)
    data = VendorData(token=token or secrets.token_urlsafe(24),
                      records={"assets": make_assets(assets, people), "users": people, "groups": group_list},
                      members=members, latency=latency)
    if prerender:
        data.prerender(prerender)
    return data


def _server(data: VendorData) -> uvicorn.Server:
    config = uvicorn.Config(build_app(data), log_level="warning", access_log=False, lifespan="off")
    return uvicorn.Server(config)


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it every response that does not fill its last segment waits ~40 ms for an ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def serve_forever(data: VendorData, sock: socket.socket) -> None:
    _server(data).run(sockets=[sock])


@contextmanager
def running_vendor(data: VendorData) -> Iterator[str]:
    """Serve `data` on a free loopback port in a background thread; yields the base URL."""
    with serving(_server(data)) as url:
        yield url


@contextmanager
def serving(server: uvicorn.Server) -> Iterator[str]:
    """Run a uvicorn server on a free loopback port in a background thread; yields its base URL."""
    sock = bind()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
