"""The credentials blocks on the Prefect server in use: build, find, list, save, delete, copy elsewhere.

Runs read their credentials from the Prefect server they run against, so every message here
names that server (`server_in_use`): a block saved into the embedded server is not on a
production one. Values are read back only to rebuild or copy a block, never to show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from prefect.blocks.core import Block
from prefect.exceptions import ObjectNotFound
from pydantic import SecretStr, ValidationError

from blocks import CREDENTIAL_BLOCKS
from models.credentials import check_block_name, credential_type
from models.errors import Conflict, CredentialsNotFound, Invalid
from models.redact import register


def server_in_use() -> str:
    """The Prefect server blocks are read from and saved to, as an operator would recognise it."""
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    if settings.api.url:
        return f"the Prefect server at {settings.api.url}"
    return f"the embedded local Prefect server (PREFECT_HOME {settings.home}; no PREFECT_API_URL set)"


def build(auth_type: str, settings: dict[str, Any], secrets: dict[str, Any]) -> Block:
    """An unsaved block; a value that does not fit is named by its field, never shown."""
    credential_type(auth_type)
    given = {name: value for name, value in {**settings, **secrets}.items() if value is not None}
    try:
        block = CREDENTIAL_BLOCKS[auth_type](**given)
    except ValidationError as exc:  # its text would show the values given, secrets included
        problems = {str(error["loc"][0]) if error["loc"] else "": f"{'.'.join(map(str, error['loc']))}: {error['msg']}"
                    for error in exc.errors()}
        raise Invalid(f"{auth_type} credentials cannot be built: {'; '.join(problems.values())}",
                      fields={name: problem for name, problem in problems.items() if name}) from None
    register(*block.secret_values())
    return block


def split(block: Block) -> tuple[dict[str, Any], dict[str, Any]]:
    """A block's (settings, secrets), the secrets as plain values: to rebuild it with some changed."""
    kind = credential_type(type_of(block))
    settings = {name: getattr(block, name) for name in kind.settings}
    secrets = {}
    for name in kind.secrets:
        value = getattr(block, name)
        secrets[name] = value.get_secret_value() if isinstance(value, SecretStr) else value
    return settings, secrets


def type_of(block: Block) -> str:
    return next(auth_type for auth_type, cls in CREDENTIAL_BLOCKS.items() if isinstance(block, cls))


def load(auth_type: str, name: str) -> Block:
    """The saved block, or `CredentialsNotFound` naming the command that creates it and the server looked at."""
    try:
        block = CREDENTIAL_BLOCKS[auth_type].load(name)
    except ValueError:
        raise CredentialsNotFound(
            f"no {auth_type} credentials named '{name}' on {server_in_use()}: create them there with "
            f"`ihub credentials create {name} --type {auth_type}` (runs read credentials from the Prefect "
            f"server they run against; `ihub credentials copy --to-api-url URL` copies them to another)"
        ) from None
    register(*block.secret_values())
    return block


def find(name: str) -> Block:
    """The one credentials block named `name`, whatever its type."""
    check_block_name(name)
    found = []
    for auth_type, cls in CREDENTIAL_BLOCKS.items():
        try:
            found.append(cls.load(name))
        except ValueError:
            continue
    if not found:
        raise CredentialsNotFound(f"no credentials named '{name}' on {server_in_use()}; "
                                  f"`ihub credentials list` shows the ones there")
    if len(found) > 1:
        raise Conflict(f"'{name}' names credentials of {len(found)} types ({', '.join(map(type_of, found))}) "
                       f"on {server_in_use()}; delete all but one with `prefect block delete`")
    register(*found[0].secret_values())
    return found[0]


def exists(name: str) -> str | None:
    """The type of the block named `name`, or None."""
    for auth_type, cls in CREDENTIAL_BLOCKS.items():
        try:
            cls.load(name)
        except ValueError:
            continue
        return auth_type
    return None


@dataclass
class Saved:
    """A credentials block as listed: its type, name and settings; secrets only as set or not."""

    type: str
    name: str
    settings: dict[str, Any]
    secrets_set: dict[str, bool]


def listed() -> list[Saved]:
    """Every credentials block of the hub's four types on the server in use, by type then name.

    Read without their secrets: the server sends them obfuscated.
    """
    from prefect.client.orchestration import get_client

    rows = []
    with get_client(sync_client=True) as client:
        for auth_type, cls in CREDENTIAL_BLOCKS.items():
            kind = credential_type(auth_type)
            try:
                documents = client.read_block_documents_by_type(cls.get_block_type_slug(), include_secrets=False)
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code == 404:  # the type was never registered there: no block of it either
                    continue
                raise
            for document in sorted(documents, key=lambda d: d.name or ""):
                if document.is_anonymous or not document.name:
                    continue
                data = document.data
                rows.append(Saved(auth_type, document.name, {name: data.get(name) for name in kind.settings},
                                  {name: data.get(name) is not None for name in kind.secrets}))
    return rows


def save(block: Block, name: str, overwrite: bool) -> None:
    block.save(check_block_name(name), overwrite=overwrite)


def delete(auth_type: str, name: str) -> None:
    try:
        CREDENTIAL_BLOCKS[auth_type].delete(name)
    except (ValueError, ObjectNotFound):
        pass


@dataclass
class Copied:
    copied: list[str]
    skipped: list[str]


def copy_to(api_url: str, overwrite: bool = False) -> Copied:
    """Copy every credentials block on the server in use to the Prefect server at `api_url`.

    A block the target already has is kept (and listed as skipped) unless `overwrite`.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    blocks = [(row, CREDENTIAL_BLOCKS[row.type].load(row.name)) for row in listed()]
    copied, skipped = [], []
    with temporary_settings({PREFECT_API_URL: api_url}):
        for row, block in blocks:
            register(*block.secret_values())
            fresh = build(row.type, *split(block))  # unsaved, so it is created anew over there
            if not overwrite and exists(row.name) is not None:
                skipped.append(row.name)
                continue
            fresh.save(row.name, overwrite=overwrite)
            copied.append(row.name)
    return Copied(copied, skipped)


def promote(auth_type: str, candidate: str, name: str) -> None:
    """Save the credentials of block `candidate` as `name` (replacing it), then delete `candidate`."""
    block = load(auth_type, candidate)
    save(build(auth_type, *split(block)), name, overwrite=True)
    delete(auth_type, candidate)
