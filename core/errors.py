"""The one exception type users see: a one-line, actionable message, never a traceback."""


class RestyleError(Exception):
    """Bad input or an unusable environment; the message is shown to the user as is."""


class Cancelled(RestyleError):
    """The user cancelled; finished frames stay on disk."""
