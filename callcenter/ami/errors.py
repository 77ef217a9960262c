"""Typed AMI failures: what happens next depends on the type, not the message."""

from __future__ import annotations


class AmiError(Exception):
    error_id = "ami-error"


class AmiRetryableError(AmiError):
    """The connection failed or was lost; the client reconnects with backoff."""

    error_id = "ami-unavailable"


class AmiAuthError(AmiError):
    """Asterisk refused the credentials; retrying cannot help until they are fixed."""

    error_id = "ami-auth-failed"


class AmiFatalError(AmiError):
    """The peer is not an AMI server (wrong host or port); no retry."""

    error_id = "ami-fatal"


class AmiNotConnected(AmiRetryableError):
    """An action was attempted while the connection was down; it was not sent."""

    error_id = "ami-not-connected"


class AmiConnectionLost(AmiRetryableError):
    """The connection dropped while the action was pending; it may or may not have run."""

    error_id = "ami-connection-lost"


class AmiActionTimeout(AmiRetryableError):
    error_id = "ami-action-timeout"


class AmiActionFailed(AmiError):
    """Asterisk answered `Response: Error`; `response` holds its message."""

    error_id = "ami-action-failed"

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"{action} failed: {message}")
        self.action = action
        self.message = message
