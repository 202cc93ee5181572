"""Failures a person can act on. Their messages are shown as they are: never a secret or query string."""


class HubError(Exception):
    """A failure with a message meant for the operator (shown in the action log and the CLI)."""


class NotFound(HubError):
    pass


class CredentialsNotFound(HubError):
    pass


class CredentialsRejected(HubError):
    pass


class VendorError(HubError):
    """The vendor answered with something the connector cannot use."""


class TooManyRejected(HubError):
    pass
