"""A logger with a bug: on_log raises."""

from ganforge import hookimpl


@hookimpl
def on_log(record):
    raise RuntimeError(f"cannot log {sorted(record)[0]}")
