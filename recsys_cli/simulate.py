"""`recsys simulate`: play a generated bank's customers against a running `recsys serve`.

Each visit asks Recommend for one customer in one channel; the customer sees every item
shown (an impression each), clicks and buys by the generator's own ground truth
(recsys.data.generate.response, never a model's scores), and every event goes back through
RecordEvents. A purchase is the customer's for the next visit. numpy and the generator are
imported when the command runs, not at `--help`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from recsys_cli.console import err_console
from recsys_cli.grpc_client import (
    DEFAULT_SERVER,
    EXIT_USAGE,
    ApiKeyOpt,
    Server,
    ServerOpt,
    TlsCaOpt,
    TlsCertOpt,
    TlsKeyOpt,
    tls_credentials,
)

BATCH = 500  # events per RecordEvents call


def register(app: typer.Typer) -> None:
    """Add `simulate` to the root app."""
    app.command("simulate")(simulate)


def simulate(
    data: Annotated[
        Path, typer.Option("--data", help="a bank `recsys data generate` wrote (with truth.npz)")
    ],
    visits: Annotated[int, typer.Option("--visits", min=1, help="visits to play")],
    server: ServerOpt = DEFAULT_SERVER,
    seed: Annotated[int, typer.Option("--seed", help="random seed of visits and answers")] = 0,
    channel_mix: Annotated[
        str | None,
        typer.Option(
            "--channel-mix",
            help="CHANNEL=SHARE,... e.g. mobile=0.5,web=0.3,branch=0.2 "
            "(default: each customer's own preference in the generator)",
        ),
    ] = None,
    days: Annotated[
        float, typer.Option("--days", min=0, help="simulated days the visits spread over")
    ] = 30.0,
    batch: Annotated[
        int, typer.Option("--batch", min=1, help="events per RecordEvents call")
    ] = BATCH,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the summary as JSON on stdout")
    ] = False,
    api_key: ApiKeyOpt = None,
    tls_ca: TlsCaOpt = None,
    tls_cert: TlsCertOpt = None,
    tls_key: TlsKeyOpt = None,
) -> None:
    """Play N visits of a generated bank's customers against the server; print per arm."""
    import numpy as np

    from recsys.data.generate.truth import TruthError, read_truth
    from recsys.settings import Settings
    from recsys.simulate.bank import SimulatedBank
    from recsys.simulate.visits import MixError, parse_channel_mix, plan_visits
    from recsys_cli.simulate_run import print_summary, run_simulation

    credentials = tls_credentials(tls_ca, tls_cert, tls_key)
    mix = None
    if channel_mix is not None:
        try:
            mix = parse_channel_mix(channel_mix, list(Settings().channels))
        except MixError as exc:
            raise typer.BadParameter(str(exc), param_hint="--channel-mix") from exc
    try:
        truth = read_truth(data)
    except TruthError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from exc
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)]
    planned = plan_visits(streams[0], truth, visits, mix, days)
    bank = SimulatedBank(truth, streams[1])
    outcome = run_simulation(
        Server(server, api_key), credentials, bank, planned, batch=batch
    )
    print_summary(outcome, as_json=as_json)
