"""Errors that carry what an administrator needs to act; the words are chosen at the edges."""

from __future__ import annotations


class LearncalError(Exception):
    """Base of every error the product raises on purpose (the CLI prints these without a traceback)."""


class ConfigurationError(LearncalError):
    """A setting is missing or malformed; the message names the setting and the fix."""


class FeedUnreadable(LearncalError):
    """The feed as a whole cannot be used (not JSON, wrong schema version, unreachable)."""


class SignInFailed(LearncalError):
    """The tenant, client ID or secret was refused by the identity platform."""


class GraphError(LearncalError):
    """Microsoft Graph refused a request; `code` is Graph's error code, the message is plain words."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after


class RunInProgress(LearncalError):
    """Another run holds the lease for this organizer."""


class MassCancellationStopped(LearncalError):
    """The run would cancel an unusually large share of live invitations."""


class UnknownOffering(LearncalError):
    """An offering id that the service has never seen in a feed."""


class DependencyUnreachable(LearncalError):
    """A service the product needs did not answer or refused the connection.

    The message names the endpoint that was tried (never a key or secret) and what to do,
    because "connection refused" alone does not tell a newcomer which of five services is
    missing.
    """

    def __init__(self, what: str, endpoint: str, fix: str, *, detail: str | None = None) -> None:
        reason = f" ({detail})" if detail else ""
        super().__init__(f"{what} could not be reached at {endpoint}{reason}. {fix}")
        self.what = what
        self.endpoint = endpoint
        self.fix = fix


class StorageUnreachable(DependencyUnreachable):
    """Azure Table Storage (Azurite locally) did not answer or refused the account's credentials."""
class MappingLost(LearncalError):
    """The mapping is empty, yet the organizer's calendar holds meetings the sync sent: creating now
    could invite everyone a second time, so the run stops until the mapping is rebuilt."""


class RebuildBlocked(LearncalError):
    """A sync run holds the organizer's lease; a rebuild beside it would add requests to the same mailbox."""


class NoFeedYet(LearncalError):
    """The feed drop holds no feed at all: a fresh installation waiting for its first upload, not a failure."""
