"""Where the commands speak: the consoles, and a command's errors and warnings as one line each.

:mod:`ganforge.cli` and :mod:`ganforge.cli_tools` both write through these; neither imports the other for them.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable

import typer
from rich.console import Console
from rich.markup import escape

from ganforge.command_group import say_error
from ganforge.errors import GanforgeError, GanforgeWarning

console = Console()
err_console = Console(stderr=True)
debug = {"on": False}  # set per invocation by the top-level --debug option or $GANFORGE_DEBUG


def reports_errors(command: Callable) -> Callable:
    """Turn a GanforgeError into one line on stderr and exit code 2 (a traceback only with --debug).

    GanforgeWarnings become one ``warning:`` line each on stderr.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("always", GanforgeWarning)
            shown_otherwise = warnings.showwarning

            def show(message, category, *rest, **kwargs):  # type: ignore[no-untyped-def]
                if not issubclass(category, GanforgeWarning):
                    return shown_otherwise(message, category, *rest, **kwargs)
                err_console.print(f"[bold yellow]warning:[/] {escape(str(message))}", highlight=False, soft_wrap=True)

            warnings.showwarning = show
            try:
                return command(*args, **kwargs)
            except GanforgeError as exc:
                if debug["on"]:
                    raise
                say_error(str(exc))
                raise typer.Exit(2) from None

    return wrapper
