"""Domain errors that views turn into a message in the user's language and a 4xx answer."""

from __future__ import annotations


class RuleViolation(Exception):
    """A rule or transition refused the action; ``message`` is shown to the user, translated."""

    status_code = 409

    def __init__(self, message: object) -> None:
        """Keep the (lazily translated) message for the view to flash."""
        super().__init__(str(message))
        self.message = message
