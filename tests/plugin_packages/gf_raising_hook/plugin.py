"""A logger with a bug: on_log raises."""

from ganforge import hookimpl


@hookimpl
def on_log(record):
    raise RuntimeError(f"cannot log step {record['step']}")
