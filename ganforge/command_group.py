"""The ``ganforge`` command group: usage errors as one line, and plugins' commands added only when needed.

typer shows a usage error (``--batch-size abc``, a missing argument, an unknown command) as a five-line box; here it
is one ``error:`` line like every other error, with did-you-mean where one is close, exit code 2.

Plugins are someone else's code: importing them can be slow or can fail. A command that needs them (``list``,
``run``, ...) loads them itself through :func:`ganforge.registry.get_registry`; the group asks for the commands plugins
add (:meth:`GanforgeGroup.add_plugin_commands`) only for a name it does not know or to list every command in
``ganforge --help``. So ``--version``, ``COMMAND --help``, ``plot`` and ``new-plugin`` never import a plugin.
"""

from __future__ import annotations

import difflib
import inspect
import sys
from typing import Any, Sequence

import typer.core
from rich.console import Console
from rich.markup import escape

from ganforge.errors import GanforgeError

_click = typer.core._click  # the click that typer vendors

# Words people type for a command that is called otherwise.
SYNONYMS = {"train": "run", "fit": "run", "continue": "resume", "generate": "sample", "evaluate": "eval", "score": "eval", "ls": "list"}


def say_error(message: str) -> None:
    """``error: MESSAGE`` on stderr, on one line whatever the message holds."""
    one_line = " ".join(message.split())
    Console(stderr=True).print(f"[bold red]error:[/] {escape(one_line)}", highlight=False, soft_wrap=True)


def usage_line(exc: "_click.exceptions.UsageError") -> str:
    """A usage error as one line: what was wrong, and where the help is."""
    if isinstance(exc, _click.exceptions.NoSuchOption) and exc.possibilities:
        message = f"{exc.message}. Did you mean {' or '.join(sorted(exc.possibilities))}?"
    else:
        message = exc.format_message()
    given = _rejected_input(exc)
    if given is not None:
        message = message.replace("': ", f"' {given!r}: ", 1)
    message = " ".join(message.split())  # click's messages may hold line breaks
    if not message.endswith((".", "?")):
        message += "."
    path = exc.ctx.command_path if exc.ctx is not None else "ganforge"
    return f"{message} See '{path} --help'."


def _rejected_input(exc: Exception) -> Any:
    """The value typer's validation refused, which its message leaves out (it is in the pydantic error behind it)."""
    errors = getattr(exc.__cause__, "errors", None)
    try:
        return errors()[0]["input"] if callable(errors) else None
    except (IndexError, KeyError, TypeError):
        return None


def _summary_as_prose(command: Any) -> None:
    """Give ``command`` the first paragraph of its help as one line for the list of commands, where typer would keep
    the docstring's line breaks (a command's own page already joins them); a ``\\b`` paragraph stays verbatim."""
    if command.short_help is None and command.help and not command.help.lstrip().startswith("\b"):
        command.short_help = " ".join(inspect.cleandoc(command.help).split("\n\n")[0].split())


class GanforgeGroup(typer.core.TyperGroup):
    """typer's group with one-line usage errors and lazily added plugin commands."""

    plugin_commands_added = False

    def add_plugin_commands(self, registry: Any = None) -> None:
        """Add the commands plugins provide; subclasses say how. Called at most once per group."""
        self.plugin_commands_added = True

    def _with_plugin_commands(self) -> None:
        if not self.plugin_commands_added:
            self.add_plugin_commands()

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None and not self.plugin_commands_added:
            self.add_plugin_commands()
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: Any) -> list[str]:
        self._with_plugin_commands()
        names = super().list_commands(ctx)
        for name in names:
            _summary_as_prose(self.commands[name])
        return names

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except _click.exceptions.UsageError as exc:
            if args and "Did you mean" not in exc.message:
                close = difflib.get_close_matches(args[0].lower(), list(SYNONYMS), n=1, cutoff=0.7)
                if close:
                    exc.message = f"{exc.message.rstrip('.')}. Did you mean '{SYNONYMS[close[0]]}'?"
            raise

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _click.exceptions.NoArgsIsHelpError as exc:  # bare 'ganforge': the help, as click shows it
            exc.show()
            sys.exit(exc.exit_code)
        except _click.exceptions.UsageError as exc:
            say_error(usage_line(exc))
            sys.exit(2)
        except _click.exceptions.ClickException as exc:
            say_error(" ".join(exc.format_message().split()))
            sys.exit(exc.exit_code)
        except typer.Abort:  # end of input where a prompt expected some
            say_error("aborted: no input")
            sys.exit(1)
        except GanforgeError as exc:  # raised outside a command, e.g. by a plugin's add_commands in strict mode
            say_error(str(exc))
            sys.exit(2)
        sys.exit(result if isinstance(result, int) else 0)
