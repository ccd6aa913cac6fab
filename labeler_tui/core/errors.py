"""User-facing errors.

Every error a user can cause (bad flag value, unknown feature, corrupt file, missing column)
is raised as a :class:`LabelerError` subclass carrying one clear line. The CLI prints that line
to stderr and exits 1; the TUI shows it in a notification. Nothing else is caught that way, so a
real bug still shows its traceback.
"""

from __future__ import annotations

from labeler_tui.core.timestamps import shown


class LabelerError(Exception):
    """A problem the user can fix; ``str(err)`` is the one line to show them."""


class ConfigError(LabelerError):
    """labeler.toml is missing, unreadable or has a bad key/value."""


class DataError(LabelerError):
    """An input data file (activations, examples, vocab, decoder) is missing or malformed."""


class StoreError(LabelerError):
    """A label/queue/history store is corrupt or cannot be written."""


class ValidationError(LabelerError):
    """A value given by the user (flag, form field) is out of range or not allowed.

    ``field`` names the value's field when the message starts with it (``"stability_score:
    must be in [0, 1]"``), so a front end can name its own word for it (the CLI its flag)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def renamed(self, name: str) -> ValidationError:
        """The same error with the leading field name replaced by ``name``."""
        message = str(self)
        if self.field and message.startswith(self.field):
            message = name + message[len(self.field) :]
        return ValidationError(message, name)


class ClaimedError(ValidationError):
    """The feature is claimed by another owner whose claim is live (``--force`` writes anyway)."""

    def __init__(self, feature_id: int, owner: str, expires: str | None) -> None:
        super().__init__(
            f"feature {feature_id} is claimed by {owner} until {shown(expires)}; "
            "wait, ask them, or pass --force to write anyway"
        )
        self.feature_id = feature_id
        self.owner = owner
        self.expires = expires


class StaleLabelError(LabelerError):
    """The stored label changed since the caller read it (``if_unchanged_since``); ``current``
    is the label now stored (a :class:`~labeler_tui.core.records.LabelRecord` or None)."""

    def __init__(self, message: str, current: object) -> None:
        super().__init__(message)
        self.current = current
