"""Loopback emulators of the partner APIs that the shipped templates describe, for the tests.

Each answers the way the real API documents it: the same paths and paging parameters, the
credentials checked exactly (Okta's `SSWS` token, Snipe-IT's bearer token, ServiceNow's Basic
user, an SSM request's SigV4 signature and scope), and errors in the API's own shape. Records
are generated, a few dozen of each, and kept on the emulator for the tests to compare.
"""

from __future__ import annotations

import base64
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator

import orjson
import uvicorn
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ihub.vendor import serving as vendor_serving

_FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"]
_LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Lee"]
_DEPARTMENTS = ["Engineering", "Finance", "Sales", "Support"]
_MODELS = [("MacBook Pro 14", "Apple", "Laptops"), ("Latitude 7440", "Dell", "Laptops"),
           ("UltraSharp U2723QE", "Dell", "Monitors"), ("iPhone 15", "Apple", "Mobile Phones")]
_EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)


def _json(data: Any, status: int = 200, media_type: str = "application/json") -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=media_type)


def _person(n: int) -> tuple[str, str, str]:
    first, last = _FIRST[n % len(_FIRST)], _LAST[n * 7 % len(_LAST)]
    return first, last, f"{first}.{last}.{n}@example.com".lower()


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """Serve `app` on a free loopback port in a background thread; yields its base URL."""
    with vendor_serving(uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                                      lifespan="off"))) as url:
        yield url


# --- Okta: GET /api/v1/users, /api/v1/groups and /api/v1/groups/{id}/users; `Authorization: SSWS <token>`,
# --- pages by the Link header (`after` the last id of the page) ----------------------------------------

OKTA_STATUSES = ["ACTIVE", "ACTIVE", "ACTIVE", "SUSPENDED", "PROVISIONED", "DEPROVISIONED"]


@dataclass
class Okta:
    token: str = field(default_factory=lambda: "00" + secrets.token_urlsafe(30))
    users: list[dict[str, Any]] = field(default_factory=lambda: okta_users(48))
    groups: list[dict[str, Any]] = field(default_factory=lambda: okta_groups(7))
    members: dict[str, list[str]] = field(default_factory=dict)
    """Group id -> the ids of its member users (the last group has none)."""

    def __post_init__(self) -> None:
        listed = [user["id"] for user in self.listed()]
        for n, group in enumerate(self.groups):
            self.members.setdefault(group["id"], [] if n == len(self.groups) - 1 else listed[n::3])

    def listed(self) -> list[dict[str, Any]]:
        """What `GET /api/v1/users` returns: every user but the deactivated (DEPROVISIONED) ones."""
        return [user for user in self.users if user["status"] != "DEPROVISIONED"]

    def group_users(self, group_id: str) -> list[dict[str, Any]]:
        ids = set(self.members[group_id])
        return [user for user in self.users if user["id"] in ids]

    def app(self) -> Starlette:
        def paged(items_of):
            async def endpoint(request: Request) -> Response:
                if not secrets.compare_digest(request.headers.get("authorization", ""), f"SSWS {self.token}"):
                    return _okta_error(401, "E0000011", "Invalid token provided")
                try:
                    limit = int(request.query_params.get("limit", 200))
                except ValueError:
                    return _okta_error(400, "E0000001", "Api validation failed: limit")
                limit = max(1, min(limit, 200))
                items = items_of(request)
                if items is None:
                    return _okta_error(404, "E0000007", f"Not found: Resource not found: "
                                                        f"{request.path_params['group_id']} (UserGroup)")
                after = request.query_params.get("after")
                start = next((i + 1 for i, item in enumerate(items) if item["id"] == after), 0)
                response = _json(items[start:start + limit])
                response.headers.append("Link", f'<{request.url}>; rel="self"')
                if start + limit < len(items):
                    following = request.url.replace_query_params(limit=limit, after=items[start + limit - 1]["id"])
                    response.headers.append("Link", f'<{following}>; rel="next"')
                return response

            return endpoint

        def members(request: Request) -> list[dict[str, Any]] | None:
            group_id = request.path_params["group_id"]
            return self.group_users(group_id) if group_id in self.members else None

        return Starlette(routes=[Route("/api/v1/users", paged(lambda request: self.listed())),
                                 Route("/api/v1/groups", paged(lambda request: self.groups)),
                                 Route("/api/v1/groups/{group_id}/users", paged(members))])


def okta_users(count: int) -> list[dict[str, Any]]:
    users = []
    for n in range(1, count + 1):
        first, last, email = _person(n)
        created = _EPOCH + timedelta(days=n)
        stamp = created.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        users.append({
            "id": f"00u{n:05d}okta{n * 7919 % 10**8:08d}"[:20],
            "status": OKTA_STATUSES[n % len(OKTA_STATUSES)],
            "created": stamp, "activated": stamp, "statusChanged": stamp, "lastLogin": None,
            "lastUpdated": stamp, "passwordChanged": stamp,
            "type": {"id": "oty1a2b3c4d5e6f7g8h9"},
            "profile": {"firstName": first, "lastName": last, "email": email.upper() if n % 5 == 0 else email,
                        "login": email, "mobilePhone": f"+1-555-01{n:02d}" if n % 3 else None,
                        "secondEmail": None, "title": "Engineer" if n % 2 else "Analyst",
                        "department": _DEPARTMENTS[n % len(_DEPARTMENTS)]},
            "credentials": {"password": {}, "provider": {"type": "OKTA", "name": "OKTA"}},
        })
    return users


def okta_groups(count: int) -> list[dict[str, Any]]:
    groups = []
    for n in range(1, count + 1):
        stamp = (_EPOCH + timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        groups.append({
            "id": f"00g{n:05d}grp{n * 104729 % 10**9:09d}"[:20],
            "created": stamp, "lastUpdated": stamp, "lastMembershipUpdated": stamp,
            "objectClass": ["okta:user_group"], "type": "OKTA_GROUP",
            "profile": {"name": f"{_DEPARTMENTS[n % len(_DEPARTMENTS)]} {n}", "description": f"Team {n}"},
        })
    return groups


def _okta_error(status: int, code: str, summary: str) -> Response:
    return _json({"errorCode": code, "errorSummary": summary, "errorLink": code,
                  "errorId": "oae" + secrets.token_hex(10), "errorCauses": []}, status)


# --- Snipe-IT: GET /api/v1/hardware and /api/v1/users, bearer token, limit/offset ----------------

SNIPE_MAX_RESULTS = 500


@dataclass
class SnipeIt:
    token: str = field(default_factory=lambda: "eyJ0eXAiOiJKV1Qi." + secrets.token_urlsafe(40))
    users: list[dict[str, Any]] = field(default_factory=lambda: snipeit_users(25))
    hardware: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hardware = self.hardware or snipeit_hardware(57, self.users)

    def app(self) -> Starlette:
        def listing(rows: list[dict[str, Any]]):
            async def endpoint(request: Request) -> Response:
                if not secrets.compare_digest(request.headers.get("authorization", ""), f"Bearer {self.token}"):
                    if "application/json" not in request.headers.get("accept", ""):  # Laravel: to the login page
                        return RedirectResponse(f"{request.base_url}login", status_code=302)
                    return _json({"error": "Unauthorized or unauthenticated."}, 401)
                limit = int(request.query_params.get("limit") or SNIPE_MAX_RESULTS)
                limit = limit if 0 < limit <= SNIPE_MAX_RESULTS else SNIPE_MAX_RESULTS
                offset = int(request.query_params.get("offset") or 0)
                ordered = sorted(rows, key=lambda row: row["id"],
                                 reverse=request.query_params.get("order", "desc") == "desc")
                return _json({"total": len(rows), "rows": ordered[offset:offset + limit]})
            return endpoint

        return Starlette(routes=[Route("/api/v1/hardware", listing(self.hardware)),
                                 Route("/api/v1/users", listing(self.users))])


def _snipe_date(value: date | None) -> dict[str, str] | None:
    return {"date": value.isoformat(), "formatted": value.strftime("%a %b %d, %Y")} if value else None


def snipeit_users(count: int) -> list[dict[str, Any]]:
    users = []
    for n in range(1, count + 1):
        first, last, email = _person(n)
        department = _DEPARTMENTS[n % len(_DEPARTMENTS)]
        users.append({
            "id": n, "name": f"{first} {last}", "first_name": first, "last_name": last,
            "username": f"{first}.{last}{n}".lower(), "email": email if n % 6 else "",
            "employee_num": f"E{n:04d}", "jobtitle": "Engineer" if n % 2 else None, "phone": None,
            "department": {"id": n % 4 + 1, "name": department} if n % 4 else None,
            "manager": {"id": 1, "name": "Ada Lovelace"} if n > 1 else None,
            "activated": n % 7 != 0,
            "created_at": {"datetime": "2025-01-01 09:00:00", "formatted": "Wed Jan 01, 2025 9:00AM"},
        })
    return users


def snipeit_hardware(count: int, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    hardware = []
    for n in range(1, count + 1):
        model, maker, category = _MODELS[n % len(_MODELS)]
        owner = users[n % len(users)] if n % 3 else None
        cost = round(149.5 + n * 61.25, 2) if n % 5 else None
        hardware.append({
            "id": n, "name": f"{model} #{n}" if n % 4 else "", "asset_tag": f"{n:08d}", "serial": f"C02X{n:06d}",
            "model": {"id": n % 4 + 1, "name": model}, "model_number": None,
            "status_label": {"id": 1, "name": "Deployed" if owner else "Ready to Deploy",
                             "status_type": "deployable", "status_meta": "deployed" if owner else "deployable"},
            "category": {"id": n % 4 + 1, "name": category}, "manufacturer": {"id": n % 2 + 1, "name": maker},
            "location": {"id": 1, "name": "Berlin"} if n % 2 else None,
            "assigned_to": {"id": owner["id"], "username": owner["username"], "name": owner["name"],
                            "first_name": owner["first_name"], "last_name": owner["last_name"],
                            "email": owner["email"] or None, "employee_number": owner["employee_num"],
                            "type": "user"} if owner else None,
            "purchase_date": _snipe_date(date(2023, 1, 1) + timedelta(days=n * 5) if n % 5 else None),
            "purchase_cost": f"{cost:,.2f}" if cost is not None else None,
            "created_at": {"datetime": "2025-01-01 09:00:00", "formatted": "Wed Jan 01, 2025 9:00AM"},
        })
    return hardware


def snipeit_cost(record: dict[str, Any]) -> float | None:
    """The number a formatted Snipe-IT purchase_cost ("1,234.56") stands for."""
    return float(record["purchase_cost"].replace(",", "")) if record["purchase_cost"] else None


# --- ServiceNow: Table API, Basic auth, sysparm_limit/sysparm_offset ----------------------------


@dataclass
class NowField:
    """One field of a ServiceNow record: its value, its display value, and the table it references."""

    value: str
    display: str | None = None
    table: str | None = None


@dataclass
class ServiceNow:
    user: str = "integration.hub"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    tables: dict[str, list[dict[str, NowField]]] = field(default_factory=lambda: servicenow_tables(33, 21))

    def app(self) -> Starlette:
        accepted = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()

        async def table(request: Request) -> Response:
            if not secrets.compare_digest(request.headers.get("authorization", ""), accepted):
                return _now_error(401, "User Not Authenticated", "Required to provide Auth information")
            name = request.path_params["table"]
            if name not in self.tables:
                return _now_error(400, f"Invalid table {name}", None)
            query = request.query_params
            records = self.tables[name]
            order = query.get("sysparm_query", "")
            if order.startswith("ORDERBY"):
                descending = order.startswith("ORDERBYDESC")
                column = order.removeprefix("ORDERBYDESC" if descending else "ORDERBY")
                records = sorted(records, key=lambda record: record[column].value, reverse=descending)
            limit = int(query.get("sysparm_limit") or 10000)
            offset = int(query.get("sysparm_offset") or 0)
            fields = [f for f in query.get("sysparm_fields", "").split(",") if f]
            page = records[offset:offset + limit]
            shown = [_now_record(record, fields, query, str(request.base_url)) for record in page]
            response = _json({"result": shown}, media_type="application/json;charset=UTF-8")
            response.headers["X-Total-Count"] = str(len(records))
            return response

        return Starlette(routes=[Route("/api/now/table/{table}", table)])


def _now_record(record: dict[str, NowField], fields: list[str], query: Any, base: str) -> dict[str, Any]:
    """A record as the Table API renders it for sysparm_display_value and sysparm_exclude_reference_link."""
    mode = query.get("sysparm_display_value", "false")
    links = query.get("sysparm_exclude_reference_link", "false") != "true"
    shown = {}
    for name in fields or [name for name in record if "." not in name]:
        item = record.get(name, NowField(""))
        display = item.display if item.display is not None else item.value
        if mode == "all":
            value: Any = {"display_value": display, "value": item.value}
        else:
            value = display if mode == "true" else item.value
        if item.table and item.value and links:
            link = f"{base}api/now/table/{item.table}/{item.value}"
            value = {**value, "link": link} if isinstance(value, dict) else {"link": link, "value": value}
        shown[name] = value
    return shown


def _now_error(status: int, message: str, detail: str | None) -> Response:
    return _json({"error": {"message": message, "detail": detail}, "status": "failure"}, status)


INSTALL_STATUSES = {"1": "In use", "6": "In stock", "7": "Retired"}


def servicenow_tables(hardware: int, users: int) -> dict[str, list[dict[str, NowField]]]:
    people = []
    for n in range(1, users + 1):
        first, last, email = _person(n)
        people.append({
            "sys_id": NowField(f"{n:08x}" + "a1b2c3d4e5f6a7b8c9d0e1f2"),
            "user_name": NowField(f"{first}.{last}{n}".lower()), "email": NowField(email if n % 5 else ""),
            "first_name": NowField(first), "last_name": NowField(last), "name": NowField(f"{first} {last}"),
            "title": NowField("Engineer" if n % 2 else ""), "phone": NowField(""),
            "department": NowField(f"d{n % 3:031d}", _DEPARTMENTS[n % 3], "cmn_department"),
            "active": NowField("true" if n % 4 else "false"),
        })
    for n, person in enumerate(people):
        manager = people[0] if n else None
        person["manager"] = (NowField(manager["sys_id"].value, manager["name"].value, "sys_user") if manager
                             else NowField(""))
        person["manager.email"] = NowField(manager["email"].value if manager else "")
    assets = []
    for n in range(1, hardware + 1):
        model, maker, category = _MODELS[n % len(_MODELS)]
        owner = people[n % len(people)] if n % 3 else None
        status = list(INSTALL_STATUSES)[n % 3]
        assets.append({
            "sys_id": NowField(f"{n * 7919:08x}" + "f0e1d2c3b4a5968778695a4b"),
            "asset_tag": NowField(f"P{n:07d}"), "display_name": NowField(f"P{n:07d} - {maker} {model}"),
            "serial_number": NowField(f"SN-{n:05d}"),
            "model": NowField(f"m{n % 4:031d}", f"{maker} {model}", "cmdb_model"),
            "model.manufacturer": NowField(f"c{n % 2:031d}", maker, "core_company"),
            "model_category": NowField(f"k{n % 4:031d}", category, "cmdb_model_category"),
            "install_status": NowField(status, INSTALL_STATUSES[status]),
            "assigned_to": NowField(owner["sys_id"].value, owner["name"].value, "sys_user") if owner else NowField(""),
            "assigned_to.email": NowField(owner["email"].value if owner else ""),
            "location": NowField(f"l{n % 2:031d}", ["Berlin", "Boston"][n % 2], "cmn_location"),
            "cost": NowField(f"{1000 + n * 12.5:.2f}", f"${1000 + n * 12.5:,.2f}"),
        })
    return {"alm_hardware": assets, "sys_user": people}


# --- AWS Systems Manager: JSON 1.1 POST /, SigV4 for service ssm, NextToken in the body ------------

SSM_TARGET = "AmazonSSM.DescribeInstanceInformation"


@dataclass
class Ssm:
    region: str = "eu-west-1"
    access_key_id: str = "AKIAIOSFODNN7EXAMPLE"
    secret_access_key: str = field(default_factory=lambda: secrets.token_urlsafe(30))
    instances: list[dict[str, Any]] = field(default_factory=lambda: ssm_instances(37))

    def app(self) -> Starlette:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            refused = self._refusal(request, body)
            if refused:
                return refused
            if request.headers.get("x-amz-target") != SSM_TARGET:
                return _aws_error("UnknownOperationException", None)
            if request.headers.get("content-type") != "application/x-amz-json-1.1":
                return _aws_error("SerializationException", None)
            payload = orjson.loads(body or b"{}")
            size = payload.get("MaxResults", 50)
            if not 5 <= size <= 50:
                bound = "less than or equal to 50" if size > 50 else "greater than or equal to 5"
                return _aws_error("ValidationException", f"1 validation error detected: Value '{size}' at "
                                  f"'maxResults' failed to satisfy constraint: Member must have value {bound}")
            start = _token_offset(payload.get("NextToken"))
            if start is None:
                return _aws_error("InvalidNextToken", "The specified token isn't valid.", "Message")
            answer: dict[str, Any] = {"InstanceInformationList": self.instances[start:start + size]}
            if start + size < len(self.instances):
                answer["NextToken"] = base64.b64encode(f"ssm:{start + size}".encode()).decode()
            return _json(answer, media_type="application/x-amz-json-1.1")

        return Starlette(routes=[Route("/", endpoint, methods=["POST"])])

    def _refusal(self, request: Request, body: bytes) -> Response | None:
        """AWS's answers to an unsigned, unknown, mis-scoped or wrongly signed request."""
        try:
            scheme, _, rest = request.headers["authorization"].partition(" ")
            parts = dict(part.strip().split("=", 1) for part in rest.split(","))
            key, _, region, service, _ = parts["Credential"].split("/")
            stamp = request.headers["x-amz-date"]
        except (KeyError, ValueError):
            return _aws_error("MissingAuthenticationTokenException", "Missing Authentication Token")
        if scheme != "AWS4-HMAC-SHA256" or key != self.access_key_id:
            return _aws_error("UnrecognizedClientException", "The security token included in the request is invalid.")
        if region != self.region:
            return _aws_error("InvalidSignatureException", "Credential should be scoped to a valid region. ")
        if service != "ssm":
            return _aws_error("InvalidSignatureException", "Credential should be scoped to correct service: 'ssm'. ")
        signed = {name: request.headers[name] for name in parts["SignedHeaders"].split(";") if name in request.headers}
        aws_request = AWSRequest(method=request.method, url=str(request.url), data=body, headers=signed)
        aws_request.context["timestamp"] = stamp
        signer = SigV4Auth(Credentials(key, self.secret_access_key), service, region)
        expected = signer.signature(signer.string_to_sign(aws_request, signer.canonical_request(aws_request)),
                                    aws_request)
        if not secrets.compare_digest(expected, parts["Signature"]):
            return _aws_error("InvalidSignatureException", "The request signature we calculated does not match the "
                              "signature you provided. Check your AWS Secret Access Key and signing method. "
                              "Consult the service documentation for details.")
        return None


def _aws_error(kind: str, message: str | None, key: str = "message") -> Response:
    body = {"__type": kind, **({key: message} if message else {})}
    return _json(body, 400, media_type="application/x-amz-json-1.1")


def _token_offset(token: str | None) -> int | None:
    if token is None:
        return 0
    try:
        kind, _, offset = base64.b64decode(token).decode().partition(":")
        return int(offset) if kind == "ssm" else None
    except ValueError:
        return None


def ssm_instances(count: int) -> list[dict[str, Any]]:
    platforms = [("Linux", "Amazon Linux", "2023"), ("Linux", "Ubuntu", "22.04"),
                 ("Windows", "Microsoft Windows Server 2022 Datacenter", "10.0.20348")]
    instances = []
    for n in range(1, count + 1):
        kind, name, version = platforms[n % len(platforms)]
        ec2 = n % 4 != 0
        instances.append({
            "InstanceId": f"i-{n * 104729:017x}" if ec2 else f"mi-{n * 104729:017x}",
            "PingStatus": "Online" if n % 6 else "ConnectionLost",
            "LastPingDateTime": (_EPOCH + timedelta(hours=n)).timestamp(),
            "AgentVersion": "3.3.131.0", "IsLatestVersion": n % 2 == 0,
            "PlatformType": kind, "PlatformName": name, "PlatformVersion": version,
            "ResourceType": "EC2Instance" if ec2 else "ManagedInstance",
            "IPAddress": f"10.0.{n // 250}.{n % 250 + 1}",
            "ComputerName": f"ip-10-0-{n // 250}-{n % 250 + 1}.eu-west-1.compute.internal",
            "AssociationStatus": "Success",
            "SourceId": f"i-{n * 104729:017x}",
            "SourceType": "AWS::EC2::Instance" if ec2 else "AWS::SSM::ManagedInstance",
        })
    return instances
