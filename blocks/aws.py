"""AWS credentials (seed 004's "AWS Authentication"): requests signed with Signature Version 4 by botocore."""

from __future__ import annotations

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from blocks.schema import schema_made_once

_SIGNATURE_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")


@schema_made_once
class AwsCredentials(Block):
    """An AWS access key (and optional session token) with the region and service to sign for."""

    _block_type_name = "IHub AWS Credentials"
    _block_type_slug = "ihub-aws-credentials"
    _description = "An AWS access key for Signature Version 4, used by Integration Hub connectors."

    access_key_id: str
    secret_access_key: SecretStr
    session_token: SecretStr | None = None
    region: str = Field(description="e.g. us-east-1")
    service: str = Field(description="the signing name of the service, e.g. execute-api, ssm")

    def secret_values(self) -> list[str]:
        """What `models.redact` must keep out of every message (the signature is caught by its pattern)."""
        return [secret.get_secret_value() for secret in (self.secret_access_key, self.session_token) if secret]

    def auth(self) -> httpx.Auth:
        return AwsSigV4Auth(self)


class AwsSigV4Auth(httpx.Auth):
    """Signs each request (its body included) with botocore's SigV4 signer; a retry is signed afresh."""

    requires_request_body = True

    def __init__(self, credentials: AwsCredentials):
        token = credentials.session_token.get_secret_value() if credentials.session_token else None
        self._signer = SigV4Auth(
            Credentials(credentials.access_key_id, credentials.secret_access_key.get_secret_value(), token),
            credentials.service, credentials.region,
        )

    def auth_flow(self, request: httpx.Request):
        signed = {"host": request.url.netloc.decode()}
        for name, value in request.headers.items():
            if name.lower() == "content-type" or name.lower().startswith("x-amz-"):
                signed[name] = value
        aws_request = AWSRequest(method=request.method, url=str(request.url), data=request.content, headers=signed)
        self._signer.add_auth(aws_request)
        for name in _SIGNATURE_HEADERS:
            if name in aws_request.headers:
                request.headers[name] = aws_request.headers[name]
        yield request

    def __repr__(self) -> str:
        return f"AwsSigV4Auth(service={self._signer._service_name!r}, region={self._signer._region_name!r})"
