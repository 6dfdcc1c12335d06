"""The exception the CLI reports as a single line instead of a traceback, and the matching warning."""


class GanforgeError(Exception):
    """Bad user input or environment: the message says what was wrong and how to fix it."""


class GanforgeWarning(UserWarning):
    """Something went wrong but was worked around (a corrupt checkpoint skipped, say); the CLI shows one line."""
