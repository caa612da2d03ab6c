"""`recsys campaign`: outbound campaigns scored with the champion, and their results.

`run` scores every targeted customer of the champion's snapshot (its events since then from
the store) through the request pipeline under the contact policy, records each contact in the
store and the decision log, and writes the file; `stats` counts a campaign's contacts and
what the channels reported against their request ids.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from recsys_cli.console import console, err_console, progress

if TYPE_CHECKING:
    from batch.campaign import CampaignResult


app = typer.Typer(no_args_is_help=True, help="Outbound campaigns: run, stats.")


@app.command("run")
def run(
    name: str = typer.Option(..., "--name", help="campaign name (stats and the policy use it)"),
    channel: str = typer.Option(..., "--channel", "-c", help="email, sms, push or call_center"),
    out: Path = typer.Option(..., "--out", help="output file: .parquet or .csv"),
    k: int = typer.Option(0, "-k", "--k", help="products per contact (0 = channel default)"),
    segments: list[str] = typer.Option([], "--segment", help="only these segments (repeatable)"),
    offer: str | None = typer.Option(None, "--offer", help="push this offer (id or name) only"),
    at: datetime | None = typer.Option(
        None, "--at", help="the campaign's moment (UTC; default now)"
    ),
    engine_name: str = typer.Option("local", "--engine", help="local or spark"),
    master: str = typer.Option("local[2]", "--master", help="Spark master (--engine spark)"),
) -> None:
    """Score every targeted customer with the champion; write, record and log the contacts."""
    from recsys.settings import Settings

    settings = Settings()
    if engine_name not in ("local", "spark"):
        _usage(f"--engine: must be local or spark, got {engine_name!r}")
    result = _run(settings, name, channel, out, k, segments, offer, at, engine_name, master)
    _print_summary(result, name, channel)


@app.command("stats")
def stats(name: str = typer.Argument(..., help="campaign name")) -> None:
    """Per channel: contacts of the campaign, opened, clicked and converted."""
    from recsys.settings import Settings
    from recsys.stores.sql_contacts import open_contact_store

    store = open_contact_store(Settings().resolved_database_url)
    try:
        rows = store.stats(name)
    finally:
        store.close()
    if not rows:
        err_console.print(f"[yellow]no contacts of campaign {name!r}[/]")
        raise typer.Exit(1)
    table = Table(title=f"campaign {name}")
    for col in ("channel", "contacted", "opened", "clicked", "converted", "conversion"):
        table.add_column(col, justify="right" if col != "channel" else "left")
    for r in rows:
        rate = f"{r.converted / r.contacted:.1%}" if r.contacted else "-"
        table.add_row(
            r.channel, str(r.contacted), str(r.opened), str(r.clicked), str(r.converted), rate
        )
    console.print(table)


def _run(
    settings,  # noqa: ANN001 - recsys.settings.Settings, imported lazily
    name: str,
    channel: str,
    out: Path,
    k: int,
    segments: list[str],
    offer: str | None,
    at: datetime | None,
    engine_name: str,
    master: str,
) -> CampaignResult:
    from batch.campaign import CampaignError, Stores, check_campaign, new_run_id, run_campaign
    from batch.scoring import Campaign, targets
    from recsys.stores.sql_contacts import open_contact_store
    from recsys.stores.sql_decisions import open_decision_store
    from recsys.stores.sql_events import open_event_store
    from recsys.stores.sql_offers import OfferNotFound, open_offer_store
    from recsys_cli.recommend import _champion

    when = (at.replace(tzinfo=UTC) if at.tzinfo is None else at) if at else datetime.now(UTC)
    config = settings.channels.get(channel)
    campaign = Campaign(
        name,
        new_run_id(),
        channel,
        k or (config.default_k if config else 1),
        when,
        tuple(segments),
        offer,
    )
    if out.suffix not in (".parquet", ".csv"):
        _usage(f"--out: {out} must end in .parquet or .csv")
    try:
        check_campaign(campaign, settings)
    except CampaignError as exc:
        _usage(str(exc))
    engine, version = _champion(settings)
    url = settings.resolved_database_url
    stores = Stores(
        open_contact_store(url),
        open_event_store(url),
        open_offer_store(url),
        open_decision_store(url) if settings.decision_log else None,
    )
    total = len(targets(engine, campaign.segments))
    try:
        with progress() as bar:
            task = bar.add_task(f"campaign {name} on {channel}", total=total)
            return run_campaign(
                engine,
                campaign,
                settings,
                stores,
                out,
                model_version=version,
                progress=lambda n: bar.advance(task, n),
            )
    except (CampaignError, OfferNotFound) as exc:
        _usage(str(exc))
        raise  # unreachable: _usage exits
    finally:
        for store in (stores.contacts, stores.events, stores.offers, stores.decisions):
            if store is not None:
                store.close()


def _on_spark(engine, campaign, settings, stores, out, version, master, total):  # noqa: ANN001, ANN202
    """The campaign on Spark: refused while offers run in the channel (placed locally only)."""
    from batch.campaign import Stores
    from batch.spark_campaign import run_campaign_spark
    from batch.spark_session import spark_session

    live = [
        o.name
        for o in stores.offers.live(campaign.at)
        if o.live_at(campaign.at) and (not o.channels or campaign.channel in o.channels)
    ]
    if live:
        _usage(
            f"--engine spark: offers run in {campaign.channel} ({', '.join(live[:3])}); "
            "offers are placed by --engine local only"
        )
    spark = spark_session(master)
    try:
        with progress() as bar:
            task = bar.add_task(f"campaign {campaign.name} on Spark ({master})", total=total)
            return run_campaign_spark(
                spark,
                engine,
                campaign,
                settings,
                Stores(stores.contacts, stores.events, None, stores.decisions),
                out,
                model_version=version,
                progress=lambda n: bar.advance(task, n),
            )
    finally:
        spark.stop()


def _print_summary(result: CampaignResult, name: str, channel: str) -> None:
    table = Table(title=f"campaign {name} on {channel} (run {result.run_id})")
    table.add_column("customers")
    table.add_column("count", justify="right")
    for what, n in result.tally.rows():
        table.add_row(what, str(n))
    console.print(table)
    console.print(f"{result.rows} contact rows written to {result.path}")


def _usage(message: str) -> None:
    err_console.print(f"[red]error:[/] {message}")
    raise typer.Exit(2)
