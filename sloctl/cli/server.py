"""Commands around the error-budget server: serve, status, gate."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from sloctl.budget_client import BudgetClient, SLOStatus, freeze_reasons
from sloctl.cli.common import OutputFormat, OutputOption, print_data, stderr, stdout, table
from sloctl.durations import humanize_duration
from sloctl.errors import ConfigError, GateClosedError, ServerError, UsageError
from sloctl.server_client import DEFAULT_SERVER_URL

ServerURLOption = Annotated[
    str,
    typer.Option("--server-url", help="Base URL of the sloctl server.", envvar="SLOCTL_SERVER_URL"),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--server-token",
        help="The server's API token: needed for writes, and for reads when the server "
        "requires one.",
        envvar="SLOCTL_SERVER_API_TOKEN",
        show_default=False,
    ),
]
BAR_WIDTH = 20
STATUS_STYLE = {"ok": "green", "warning": "yellow", "exhausted": "red", "unknown": "dim"}
BURN_WINDOWS = ("1h", "6h", "1d", "3d")


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8080,
    log_level: Annotated[
        str, typer.Option(help="Log level of the JSON logs.", envvar="SLOCTL_SERVER_LOG_LEVEL")
    ] = "INFO",
) -> None:
    """Run the error-budget server (settings from SLOCTL_SERVER_* and DATABASE_URL)."""
    import uvicorn
    from pydantic import ValidationError

    from server.app import create_app
    from server.logs import log_config
    from server.settings import Settings, describe_error

    try:
        settings = Settings()
    except ValidationError as err:
        raise ConfigError(f"invalid server settings: {describe_error(err)}") from err
    except ValueError as err:
        raise ConfigError(f"invalid server settings: {err}") from err
    if settings.specs_dir is not None:
        from sloctl.spec.loader import load_specs

        load_specs([settings.specs_dir])  # SpecError: report path:line before starting
    if settings.oncall_config is not None:
        from sloctl.oncall.config import load_oncall

        load_oncall(settings.oncall_config)  # the same for the on-call file
    uvicorn.run(
        create_app(settings, freeze_heap=True),
        host=host,
        port=port,
        log_config=log_config(log_level),
        access_log=True,
    )


def _bar(remaining: float | None, status: str) -> Text:
    """The share of the budget left as a bar, coloured by the policy's status."""
    if remaining is None:
        return Text("·" * BAR_WIDTH, style="dim")
    full = round(min(max(remaining, 0.0), 1.0) * BAR_WIDTH)
    return Text("█" * full, style=STATUS_STYLE[status]) + Text(
        "░" * (BAR_WIDTH - full), style="dim"
    )


def _percent(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def _burn(slo: SLOStatus, window: str) -> str:
    value = slo.burn_rates.get(window)
    return "-" if value is None else f"{value:.2f}x"


def _row(slo: SLOStatus) -> list[Text | str]:
    status = Text(slo.status, style=STATUS_STYLE[slo.status])
    if slo.stale:
        status += Text(" (stale)", style="dim")
    exhaustion = slo.time_to_exhaustion_seconds
    remaining = slo.error_budget.remaining
    if remaining is not None and remaining <= 0:
        exhausted_in = "spent"
    else:
        exhausted_in = "-" if exhaustion is None else humanize_duration(exhaustion)
    return [
        slo.id,
        f"{slo.objective * 100:g}% / {slo.window}",
        _percent(slo.sli),
        _bar(remaining, slo.status) + Text(f" {_percent(remaining, 1)}"),
        *(_burn(slo, w) for w in BURN_WINDOWS),
        exhausted_in,
        status,
    ]


def status(
    server_url: ServerURLOption = DEFAULT_SERVER_URL,
    token: TokenOption = None,
    service: Annotated[
        str | None, typer.Option(help="Only the SLOs of this service.", show_default=False)
    ] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show every SLO's error budget and burn rates as the server computes them."""
    with BudgetClient(server_url, token=token) as client:
        slos = client.slos(service=service)
    if output is not OutputFormat.table:
        print_data({"slos": [s.model_dump(mode="json") for s in slos]}, output)
        return
    columns = ["SLO", "objective", "SLI", "budget left", *(f"burn {w}" for w in BURN_WINDOWS)]
    console = stdout()
    console.print(table(None, [*columns, "exhausted in", "status"], [_row(slo) for slo in slos]))
    stale = sum(1 for s in slos if s.stale)
    console.print(
        f"{len(slos)} SLOs"
        + (f"; [yellow]{stale} stale[/]: the server cannot reach Prometheus" if stale else "")
    )


def gate(
    slo: Annotated[
        str | None, typer.Option("--slo", help="Gate on this SLO id.", show_default=False)
    ] = None,
    service: Annotated[
        str | None,
        typer.Option("--service", help="Gate on every SLO of this service.", show_default=False),
    ] = None,
    server_url: ServerURLOption = DEFAULT_SERVER_URL,
    token: TokenOption = None,
) -> None:
    """Exit 0 when deployments may go ahead, 3 when a budget policy says freeze."""
    if (slo is None) == (service is None):
        raise UsageError("give exactly one of --slo ID and --service NAME")
    with BudgetClient(server_url, token=token) as client:
        if slo is not None:
            slos = [client.slo(slo)]
        else:
            slos = client.slos(service=service)
            if not slos:
                raise ServerError(server_url, f"the server knows no SLOs of service {service!r}")
    reasons = freeze_reasons(slos)
    if reasons:
        raise GateClosedError("\n".join(reasons))
    console = stderr()
    for item in slos:
        if item.status == "unknown":
            console.print(f"[yellow]warning:[/] {item.id}: no budget data; not blocking")
        elif item.stale:
            console.print(f"[yellow]warning:[/] {item.id}: budget data is stale")
    stdout().print(
        f"open: {len(slos)} SLO{'s' if len(slos) != 1 else ''} within budget policy",
        highlight=False,
    )
