"""Models: registered versions, their aliases (champion, challenger), each version's holdout
metrics next to the popularity baseline's, and links to the MLflow UI."""

from __future__ import annotations

from typing import Final

from starlette.responses import Response
from starlette.routing import Route

from console.web import Page, page
from recsys.security.roles import ADMIN, MARKETING
from serving._proto.recsys.v1 import admin_pb2 as pb

ROLES: Final = (MARKETING, ADMIN)


def routes() -> list[Route]:
    """GET /models."""
    return [Route("/models", show, methods=["GET"])]


@page(*ROLES)
async def show(p: Page) -> Response:
    """The registry's versions, newest first."""
    found = await p.call(
        p.console.backend.stubs.admin.ListModelVersions, pb.ListModelVersionsRequest()
    )
    ui = p.console.settings.mlflow_ui_url.rstrip("/")
    return p.render(
        "models.html",
        title="Models",
        found=found,
        mlflow_ui=ui,
        model_link=f"{ui}/#/models/{found.registered_model}",
    )
