"""The partner application catalog (seed 001): one YAML template per partner in `partner_templates/`.

A template says who the partner is, where its API lives in each region, how it authenticates,
which small request proves that credentials work, and which data types it offers. A data type
is a connector spec less three things supplied later: the vendor (the partner's name), the
auth (the partner's auth type with the endpoint's credentials block) and the request's base
URL (the operator's region). Every template is validated whole when the catalog loads, so a
bad one fails at once, naming its file and field.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models.errors import HubError
from models.spec import ConnectorSpec, JsonPath, RequestSpec, SpecError, format_errors, yaml_problem
from models.suggest import did_you_mean

TEMPLATES = Path(__file__).parent / "partner_templates"
TENANT = "{tenant}"

_SLUG = r"[a-z0-9][a-z0-9-]*"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ONE_LABEL = re.compile(_LABEL)
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::\d{{1,5}})?")

_AUTH_SETTINGS = {"api_token": ("header", "prefix", "placement", "param"), "basic": (), "aws": ("service",)}
"""Auth type -> the settings a template may give for it."""
CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    "api_token": ("api_key",),
    "basic": ("username", "password"),
    "aws": ("access_key_id", "secret_access_key", "session_token"),
}
"""Auth type -> the credential fields an operator gives, in the order to ask for them."""

OPTIONAL_FIELDS = frozenset({"session_token"})
"""Fields that may be left out (a temporary AWS key has a session token, a long-term one has none)."""

_BLOCK_FIELDS = {"header": "header_name", "prefix": "prefix", "placement": "placement", "param": "query_param",
                 "service": "service"}
"""Template setting -> the credentials block field it fills."""


class PartnerError(HubError):
    """A partner, region, tenant or data type that the catalog does not have, or a template that does not load."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartnerAuth(_Strict):
    """How the partner authenticates, and the non-secret settings of its credentials block."""

    type: Literal["api_token", "basic", "aws"]
    header: str | None = Field(default=None, description="api_token: the header that carries the token")
    prefix: str | None = Field(default=None, description="api_token: written before the token, e.g. SSWS")
    placement: Literal["header", "query"] | None = Field(default=None, description="api_token: header or query")
    param: str | None = Field(default=None, description="api_token: the query parameter, for query placement")
    service: str | None = Field(default=None, description="aws: the signing name of the service, e.g. ssm")

    @model_validator(mode="after")
    def _settings_fit_type(self) -> PartnerAuth:
        allowed = _AUTH_SETTINGS[self.type]
        given = sorted(self.model_fields_set - {"type"})
        foreign = [name for name in given if name not in allowed]
        if foreign:
            takes = f"it takes {', '.join(allowed)}" if allowed else "it takes no settings"
            raise ValueError(f"{', '.join(foreign)} {'is not a setting' if len(foreign) == 1 else 'are not settings'} "
                             f"of {self.type} auth; {takes}")
        if self.type == "aws" and not self.service:
            raise ValueError("aws auth needs the service to sign for, e.g. service: ssm")
        return self


class ConnectionTest(_Strict):
    """A small request that succeeds only with working credentials: what connecting sends."""

    path: str = Field(description="path under the region's base URL, e.g. /api/v1/users")
    method: Literal["GET", "POST"] = "GET"
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    body: dict[str, Any] | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    error_message: list[JsonPath] = Field(
        default_factory=list,
        description="paths to the vendor's own message in an error response; the values found are joined "
                    "with ': ', e.g. [error.message, error.detail]",
    )


class DataRequest(RequestSpec):
    """A data type's request: the base URL is the region's, filled in when an integration is made."""

    base_url: None = None


class DataType(ConnectorSpec):
    """One kind of record a partner offers ("users", "hardware"): a connector spec less vendor, auth and base URL."""

    name: str = Field(pattern=_SLUG)
    label: str = Field(min_length=1)
    description: str = ""
    vendor: None = None
    auth: None = None
    request: DataRequest
    sync_key: str

    @model_validator(mode="before")
    @classmethod
    def _supplied_elsewhere(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if "vendor" in data:
                raise ValueError("vendor is the partner's name; leave it out of a data type")
            if "auth" in data:
                raise ValueError("auth is the partner's (the template's auth section); leave it out of a data type")
            if isinstance(data.get("request"), dict) and "base_url" in data["request"]:
                raise ValueError("request.base_url comes from the region the operator picks; leave it out")
        return data

    def connector_spec(self, vendor: str, base_url: str, auth_type: str, block: str) -> ConnectorSpec:
        data = self.model_dump(mode="json", exclude_unset=True, exclude={"name", "label", "description"})
        data["request"]["base_url"] = base_url
        return ConnectorSpec.parse({**data, "vendor": vendor, "auth": {"type": auth_type, "block": block}},
                                   source=f"{vendor} data type '{self.name}'")


class PartnerApplication(_Strict):
    """A partner application of the catalog, as its template describes it."""

    slug: str = Field(pattern=_SLUG, description="the template's file name, e.g. okta")
    name: str = Field(min_length=1)
    author: str = Field(min_length=1)
    support_contact: str = Field(description="an e-mail address or an http(s) URL")
    description: str = Field(min_length=1)
    docs_url: str | None = Field(default=None, description="the vendor's API documentation, when it publishes one")
    regions: dict[str, str] = Field(min_length=1, description="region -> base URL; {tenant} marks a per-customer host")
    auth: PartnerAuth
    connection_test: ConnectionTest
    data_types: dict[str, DataType] = Field(min_length=1)

    @field_validator("data_types", mode="before")
    @classmethod
    def _named_by_key(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: {**item, "name": key} if isinstance(item, dict) else item for key, item in value.items()}
        return value

    @field_validator("support_contact")
    @classmethod
    def _contact(cls, value: str) -> str:
        if _is_http_url(value):
            return value
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError:
            raise ValueError("give an e-mail address or an http(s) URL") from None

    @field_validator("docs_url")
    @classmethod
    def _docs_url(cls, value: str | None) -> str | None:
        if value is not None and not _is_http_url(value):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("regions")
    @classmethod
    def _region_urls(cls, regions: dict[str, str]) -> dict[str, str]:
        for region, url in regions.items():
            problem = _region_url_problem(url)
            if problem:
                raise ValueError(f"region '{region}': {problem}")
        return {region: url.rstrip("/") for region, url in regions.items()}

    @property
    def auth_type(self) -> str:
        """api_token, basic or aws: which credentials the operator gives."""
        return self.auth.type

    def block_settings(self) -> dict[str, Any]:
        """The non-secret fields of the credentials block, from the template (header_name, prefix, service...)."""
        given = self.auth.model_dump(exclude={"type"}, exclude_none=True)
        return {_BLOCK_FIELDS[setting]: value for setting, value in given.items()}

    def base_url(self, region: str, tenant: str | None = None) -> str:
        """The API's base URL for a region, with the customer's tenant where the URL has one."""
        url = self.regions.get(region)
        if url is None:
            raise PartnerError(f"{self.name} has no region '{region}'{did_you_mean(region, self.regions)}; "
                               f"its regions are: {', '.join(self.regions)}")
        if TENANT not in url:
            if tenant:
                raise PartnerError(f"region '{region}' of {self.name} takes no tenant: {url} serves every customer")
            return url
        if not tenant or not tenant.strip():
            raise PartnerError(f"region '{region}' of {self.name} needs your tenant: the {TENANT} in {url}")
        tenant = tenant.strip().lower()
        whole_host = _host_part(url) == TENANT
        if not (_HOST_NAME if whole_host else _ONE_LABEL).fullmatch(tenant):
            expected = ("a host name, e.g. assets.example.com" if whole_host
                        else "one host label (letters, digits and inner '-'), e.g. acme")
            raise PartnerError(f"tenant {tenant!r} cannot be the {TENANT} in {url}: give {expected}")
        return url.replace(TENANT, tenant)

    def spec_for(self, data_type: str, base_url: str, block: str) -> ConnectorSpec:
        """The connector spec of one data type, for an endpoint's base URL and credentials block."""
        found = self.data_types.get(data_type)
        if found is None:
            raise PartnerError(f"{self.name} has no data type '{data_type}'{did_you_mean(data_type, self.data_types)}; "
                               "its data types are: "
                               f"{', '.join(self.data_types)}")
        try:
            return found.connector_spec(self.name, base_url, self.auth_type, block)
        except SpecError as exc:
            raise PartnerError(str(exc)) from None


def _is_http_url(value: str) -> bool:
    return re.fullmatch(r"https?://[^\s/]+(/\S*)?", value) is not None


def _host_part(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def _region_url_problem(url: str) -> str | None:
    if not url.startswith(("http://", "https://")):
        return "the URL must start with http:// or https://"
    placeholders = set(re.findall(r"\{[^}]*\}", url))
    if placeholders - {TENANT}:
        return f"{', '.join(sorted(placeholders - {TENANT}))} is not a placeholder; only {TENANT} is"
    if TENANT in url and TENANT not in _host_part(url):
        return f"{TENANT} belongs in the host name, e.g. https://{TENANT}.example.com"
    if not _is_http_url(url.replace(TENANT, "tenant")):
        return f"{url!r} is not a URL"
    return None


def load_catalog(folder: Path = TEMPLATES) -> dict[str, PartnerApplication]:
    """Every template in `folder`, validated, by slug in order; the first bad one raises `PartnerError`."""
    return {path.stem: _load(path) for path in sorted(folder.glob("*.yaml"))}


@lru_cache(maxsize=1)
def catalog() -> dict[str, PartnerApplication]:
    """The shipped partner applications, by slug in order."""
    return load_catalog()


def get_partner(slug: str) -> PartnerApplication:
    found = catalog().get(slug)
    if found is None:
        raise PartnerError(f"no partner application '{slug}'{did_you_mean(slug, catalog())}; "
                           f"the catalog has: {', '.join(catalog())}")
    return found


def _load(path: Path) -> PartnerApplication:
    source = _shown(path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise PartnerError(f"{source}: {yaml_problem(exc)}") from None
    if not isinstance(data, dict):
        raise PartnerError(f"{source}: a partner template is a mapping of fields")
    if "slug" in data:
        raise PartnerError(f"{source}: slug: is the file name ({path.stem}); leave it out")
    try:
        return PartnerApplication.model_validate({**data, "slug": path.stem})
    except ValidationError as exc:
        raise PartnerError(format_errors(exc, source)) from None


def _shown(path: Path) -> str:
    """A shipped template as models/partner_templates/<file>, any other by its path."""
    project = Path(__file__).parents[1]
    return str(path.relative_to(project)) if path.is_relative_to(project) else str(path)
