"""Prefect's API clients share one verified TLS context (models/prefect_tls.py)."""

from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_TLS_INSECURE_SKIP_VERIFY, PREFECT_API_URL, temporary_settings

import flows  # noqa: F401  (as a flow run, a block or a command does: the contexts are shared from here on)


def tls_context(client):
    return client._client._transport._pool._ssl_context


def test_prefect_clients_share_one_verified_tls_context():
    with temporary_settings({PREFECT_API_URL: "https://prefect.example.com/api"}):
        first, second = get_client(sync_client=True), get_client()
        assert tls_context(first) is tls_context(second)
        assert tls_context(first).verify_mode.name == "CERT_REQUIRED" and tls_context(first).check_hostname


def test_an_unverified_context_is_never_shared_with_verified_ones():
    with temporary_settings({PREFECT_API_URL: "https://prefect.example.com/api"}):
        verified = tls_context(get_client(sync_client=True))
        with temporary_settings({PREFECT_API_TLS_INSECURE_SKIP_VERIFY: True}):
            unverified = tls_context(get_client(sync_client=True))
        assert unverified is not verified and unverified.verify_mode.name == "CERT_NONE"
        assert verified.verify_mode.name == "CERT_REQUIRED" and verified.check_hostname  # left as it was
        assert tls_context(get_client(sync_client=True)) is verified
