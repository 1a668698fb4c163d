"""Domain exceptions: what went wrong, in words, with the offending field; no HTTP codes here."""

from __future__ import annotations


class LabelingError(Exception):
    """Base of every error the platform reports to a user."""

    code = "error"

    def __init__(self, message: str, field: str | None = None, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra  # more machine-readable detail, e.g. the line number of a bad import line


class InvalidInput(LabelingError):
    """The request or file is malformed or fails validation."""

    code = "invalid"


class NotFound(LabelingError):
    """The named object does not exist (or is not visible to this user)."""

    code = "not_found"


class Unauthenticated(LabelingError):
    """No valid credentials were presented."""

    code = "unauthenticated"


class Forbidden(LabelingError):
    """The user is known but may not do this."""

    code = "forbidden"


class Conflict(LabelingError):
    """The request clashes with the current state (duplicate name, lease already used...)."""

    code = "conflict"


class LeaseExpired(Conflict):
    """The assignment's lease ran out before the answer arrived."""

    code = "lease_expired"


class WorkerBlocked(Forbidden):
    """The worker fell below the project's gold-accuracy threshold."""

    code = "worker_blocked"


class TooLarge(LabelingError):
    """The request body or file is larger than the configured limit."""

    code = "too_large"


class UnsupportedMediaType(LabelingError):
    """The request body's Content-Type is not one this operation reads."""

    code = "unsupported_media_type"


class PreconditionFailed(LabelingError):
    """The object changed since the client read it (its version no longer the one the client names)."""

    code = "precondition_failed"


class ProjectPaused(Conflict):
    """The project is paused: it serves no tasks until its requester makes it active again."""

    code = "project_paused"


class ProjectArchived(Conflict):
    """The project is archived: it serves no tasks and takes no answers."""

    code = "project_archived"

