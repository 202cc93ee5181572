"""Credentials blocks built from what an operator types, for connecting a partner application (seed 001).

The operator gives the secrets (an API key, a password, an access key); the partner's template
gives the rest (the header and prefix, the AWS service); the region picked gives the AWS region.
Messages name the fields that are missing or not used, never a value.
"""

from __future__ import annotations

from typing import Any

from prefect.blocks.core import Block
from pydantic import ValidationError

from blocks.api_token import ApiTokenCredentials
from blocks.aws import AwsCredentials
from blocks.basic import BasicCredentials
from models.errors import HubError
from models.partners import CREDENTIAL_FIELDS, OPTIONAL_FIELDS
from models.redact import register

_KINDS = {"api_token": "API-token", "basic": "Basic", "aws": "AWS"}


def credentials_block(auth_type: str, secrets: dict[str, str], settings: dict[str, Any],
                      region: str | None = None) -> Block:
    """The unsaved credentials block for `auth_type`, or a `HubError` naming what is missing or not used."""
    if auth_type not in CREDENTIAL_FIELDS:
        raise HubError(f"no credentials for auth type '{auth_type}'; the types are {', '.join(CREDENTIAL_FIELDS)}")
    fields = CREDENTIAL_FIELDS[auth_type]
    given = {name: value.strip() for name, value in secrets.items() if value is not None and value.strip()}
    _check(auth_type, fields, given)
    kind = _KINDS[auth_type]
    if auth_type == "aws" and not region:
        raise HubError("AWS credentials need the region to sign requests for")
    try:
        if auth_type == "api_token":
            block = ApiTokenCredentials(token=given["api_key"], **settings)
        elif auth_type == "basic":
            block = BasicCredentials(username=given["username"], password=given["password"], **settings)
        else:
            block = AwsCredentials(access_key_id=given["access_key_id"], secret_access_key=given["secret_access_key"],
                                   session_token=given.get("session_token"), region=region, **settings)
    except ValidationError as exc:  # its text would show the values given, secrets included
        problems = "; ".join(f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors())
        raise HubError(f"{kind} credentials cannot be built: {problems}") from None
    register(*block.secret_values())  # what the connection test answers may echo them
    return block


def _check(auth_type: str, fields: tuple[str, ...], given: dict[str, str]) -> None:
    required = [name for name in fields if name not in OPTIONAL_FIELDS]
    missing = [name for name in required if name not in given]
    unused = sorted(set(given) - set(fields))
    if not (missing or unused):
        return
    needs = f"{_KINDS[auth_type]} credentials need {' and '.join(required)}"
    if any(name in OPTIONAL_FIELDS for name in fields):
        needs += f" (optionally {', '.join(name for name in fields if name in OPTIONAL_FIELDS)})"
    problems = []
    if missing:
        problems.append(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing")
    if unused:
        problems.append(f"{', '.join(unused)} {'is' if len(unused) == 1 else 'are'} not used by them")
    raise HubError(f"{needs}: {'; '.join(problems)}")
