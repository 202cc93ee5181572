"""The names operators give customers, endpoints and integrations, and how they are checked.

A name appears in `customer/integration` references, URLs and Prefect flow-run names, so it
holds no slash or space.
"""

from __future__ import annotations

import re

from models.errors import Invalid

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_name(kind: str, name: str) -> str:
    name = (name or "").strip()
    if not _NAME.fullmatch(name):
        problem = (f"{kind} name {name!r} is not valid: use 1 to 64 letters, digits, '.', '_' or '-', "
                   "starting with a letter or digit")
        raise Invalid(problem, fields={"name": problem})
    return name


def slug(*parts: str) -> str:
    """Lower-case letters, digits and dashes: what Prefect accepts as a block name."""
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


SYNC_FLOW = "sync-integration"
"""The Prefect flow that syncs an integration: its deployments, runs and actions are found by this name."""


def deployment_name(ref: str) -> str:
    """`acme/assets` -> `acme:assets`: Prefect refuses '/' in a deployment name, and ':' is in no hub name."""
    return ref.replace("/", ":", 1)
