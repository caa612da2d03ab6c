"""Concluding an experiment (admin): a confirmation page with the report's guardrails and the
server's verdict on promoting the challenger, then ExperimentService.Conclude.

The POST is open to marketing at the console on purpose: the console holds no powers, so it
is the server's role check that refuses marketing (403 with the server's message), exactly
as for the CLI. Marketing is never shown the button or the confirmation page.
"""

from __future__ import annotations

from typing import Final

import grpc
from starlette.responses import Response
from starlette.routing import Route

from console.backend import BackendError
from console.experiment_view import has_arm
from console.pages.experiments import read, report_values
from console.web import STATUS_OF, Page, page
from recsys.security.roles import ADMIN, MARKETING
from serving._proto.recsys.v1 import experiments_pb2 as pb

CHALLENGER: Final = "challenger"
SHOWN_AGAIN: Final = (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT)


def routes() -> list[Route]:
    """GET (confirm) and POST (do) /experiments/{id}/conclude."""
    return [
        Route("/experiments/{ref}/conclude", confirm, methods=["GET"]),
        Route("/experiments/{ref}/conclude", conclude, methods=["POST"]),
    ]


@page(ADMIN)
async def confirm(p: Page) -> Response:
    """'Conclude experiment X?' with the guardrails, the choices and the button."""
    return await _confirm_page(p, problems=[], promote="", force=False, note="")


@page(MARKETING, ADMIN)  # the server refuses marketing (see the module's docstring)
async def conclude(p: Page) -> Response:
    """Conclude as confirmed; a refusal the user can act on comes back on the same page."""
    promote = CHALLENGER if p.field("promote") == CHALLENGER else ""
    force, note = p.field("force") == "yes", p.field("note")
    request = pb.ConcludeExperimentRequest(
        experiment_ref=p.request.path_params["ref"], promote=promote, force=force, note=note
    )
    try:
        done = await p.call(p.console.backend.stubs.experiments.Conclude, request)
    except BackendError as exc:
        if exc.code not in SHOWN_AGAIN:
            raise
        return await _confirm_page(
            p, problems=exc.lines, promote=promote, force=force, note=note,
            code=STATUS_OF[exc.code],
        )  # fmt: skip
    e = done.experiment
    said = f"Experiment {e.name} concluded: {e.concluded}; the champion is version "
    said += f"{done.champion_version or 'none'}."
    if done.reasons:
        said += " Forced although: " + "; ".join(done.reasons) + "."
    return p.redirect(f"/experiments/{e.id}", said)


async def _confirm_page(
    p: Page, *, problems: list[str], promote: str, force: bool, note: str, code: int = 200
) -> Response:
    experiment, _history, report = await read(p)
    return p.render(
        "experiment_conclude.html",
        code=code,
        title=f"Conclude experiment {experiment.name}",
        experiment=experiment,
        problems=problems,
        promote=promote,
        force=force,
        note=note,
        can_promote=has_arm(report, CHALLENGER),
        **report_values(p, report),
    )
