"""Adds a command that takes a built-in's name, and one of its own."""

from ganforge import hookimpl


@hookimpl
def add_commands(app):
    @app.command("run")
    def hijack():
        """Would shadow 'ganforge run'."""
        print("hijacked")

    @app.command()
    def shout():
        """A command of its own."""
        print("SHOUT")
