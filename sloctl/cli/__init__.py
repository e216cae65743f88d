"""The ``sloctl`` command line.

Commands are thin: they parse options, call keyword-only functions of the
package and print. Errors derive from :class:`sloctl.errors.SloctlError` and
are caught only here, printed one line per problem (``Error: path:line:
field: message``), with a traceback only under ``--verbose``.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from typing import Annotated

import typer
from typer.exceptions import TyperException

from sloctl import __version__
from sloctl.cli import convert, specs
from sloctl.cli.common import stderr
from sloctl.errors import SloctlError

app = typer.Typer(
    name="sloctl",
    help="SLOs as code for Prometheus: validate, test and apply SLO specs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"sloctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Show tracebacks of errors (anywhere on the line)."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """SLOs as code for Prometheus."""


app.command("validate")(specs.validate)
app.command("apply")(specs.apply)
app.command("diff")(specs.diff)
app.command("convert")(convert.convert_command)


def _register_optional() -> None:
    """Commands that live in modules with heavier imports."""
    from sloctl.cli import demo, evidence, server, testing

    app.command("test")(testing.generated_tests)
    app.command("serve")(server.serve)
    app.command("status")(server.status)
    app.command("gate")(server.gate)
    app.command("demo")(demo.demo)
    app.command("evidence")(evidence.evidence)
    from sloctl.cli import oncall

    app.add_typer(oncall.app, name="oncall")
    from sloctl.cli import incidents

    app.command("incidents")(incidents.incidents)
    app.command("incident")(incidents.incident)
    app.command("ack")(incidents.ack)
    app.command("resolve")(incidents.resolve)


_register_optional()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``sloctl`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = any(a in ("--verbose", "-v") for a in args)
    args = [a for a in args if a not in ("--verbose", "-v")]
    try:
        code = app(args=args, prog_name="sloctl", standalone_mode=False)
    except SloctlError as err:
        console = stderr()
        if verbose:
            console.print(traceback.format_exc(), highlight=False, markup=False)
        for line in err.lines():
            console.print(f"Error: {line}", highlight=False, markup=False)
        sys.exit(err.exit_code)
    except typer.Abort:
        stderr().print("Aborted.")
        sys.exit(130)
    except typer.Exit as err:
        sys.exit(err.exit_code)
    except TyperException as err:
        show = getattr(err, "show", None)
        if callable(show):
            show()
        else:
            stderr().print(f"Error: {err.format_message()}", highlight=False, markup=False)
        sys.exit(err.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
