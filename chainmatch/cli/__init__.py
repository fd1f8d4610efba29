"""``chainmatch`` — the command line: demo, serve, import, index, keys, gaps, match, and the
chains, outreach, aliases and offers groups. A thin adapter over the services: each command parses
its arguments, calls a service as the platform operator, and prints the answer."""

from __future__ import annotations

from typing import Annotated

import typer

from chainmatch.chains.cli import chains_app, outreach_app, report_cmd
from chainmatch.cli.aliases import aliases_app
from chainmatch.cli.common import console
from chainmatch.cli.gaps import gaps_app
from chainmatch.cli.imports import import_app
from chainmatch.cli.index import index_app, ranker_app
from chainmatch.cli.keys import keys_app
from chainmatch.cli.match import match_cmd, print_reading, results_table
from chainmatch.cli.offers import offers_app, ranker_refresh
from chainmatch.settings import get_settings

__all__ = ["app", "print_reading", "results_table"]

app = typer.Typer(help="ChainMatch — 链长制 · 补链强链精准招商", no_args_is_help=True, add_completion=False)
app.add_typer(import_app, name="import")
app.add_typer(index_app, name="index")
app.add_typer(keys_app, name="keys")
app.add_typer(gaps_app, name="gaps")
app.add_typer(ranker_app, name="ranker")
app.add_typer(chains_app, name="chains")
app.add_typer(outreach_app, name="outreach")
app.add_typer(aliases_app, name="aliases")
app.add_typer(offers_app, name="offers")
ranker_app.command("refresh")(ranker_refresh)
app.command("report")(report_cmd)
app.command("match")(match_cmd)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="debug logs")] = False) -> None:
    from chainmatch.logconfig import configure_logging

    configure_logging("DEBUG" if verbose else get_settings().log_level)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=get_settings().log_level.lower(),
    )


@app.command("demo")
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="serve the API afterwards")] = True,
    k: Annotated[int, typer.Option("-k", help="candidates per list")] = 5,
) -> None:
    """Load the sample Guangdong precision-instrument cluster, build the index, print each weak
    link's investment targets and local suppliers, then serve the API until Ctrl-C."""
    from chainmatch.demo import run_demo

    run_demo(get_settings(), console, k=k)
    if serve_api:
        console.print(f"\nAPI: http://{host}:{port}/docs  (Ctrl-C 退出)")
        serve(host=host, port=port, workers=1)
