"""A working plugin: a loss, a settings section, a lifecycle hook and a CLI command."""

from dataclasses import dataclass

from ganforge import hookimpl


@dataclass
class GoodSettings:
    """Settings of the ``good`` section."""

    note: str = "hello"  # written to <run>/good.txt when the run ends


@hookimpl
def register_losses(register):
    register("least-squares", "gf_good.losses:LeastSquares", "Least-squares GAN loss (test plugin)")


@hookimpl
def config_sections():
    return {"good": GoodSettings}


@hookimpl
def on_run_end(run_dir, config, result):
    (run_dir / "good.txt").write_text(f"{config.good.note} after {result.steps} steps")


@hookimpl
def add_commands(app):
    @app.command()
    def greet(name: str = "world"):
        """Say hello (a command added by the gf-good plugin)."""
        print(f"hello {name} from gf-good")

    @app.command()
    def fail():
        """Fail with a GanforgeError."""
        from ganforge.errors import GanforgeError

        raise GanforgeError("gf-good's command failed on purpose")
