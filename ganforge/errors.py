"""The one exception type that the CLI reports as a single line instead of a traceback."""


class GanforgeError(Exception):
    """Bad user input or environment: the message says what was wrong and how to fix it."""
