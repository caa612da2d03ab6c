"""The gRPC side of `recsys recommend`: one Recommend call per customer, printed as tables."""

from __future__ import annotations

import grpc
import typer
from rich.markup import escape
from rich.table import Table

from recsys_cli.console import console, err_console
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc

# exit 2: the request was wrong (fix the command); exit 1: the server could not answer
USAGE_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
}


def recommend_remote(
    target: str,
    customers: list[str],
    channel: str,
    k: int,
    context: dict[str, str],
    timeout_s: float,
    *,
    credentials: grpc.ChannelCredentials | None = None,
    api_key: str | None = None,
) -> None:
    """Ask the server at `target` for each customer's suggestions and print them.

    `credentials` turn TLS on; `api_key` goes out as `authorization: Bearer` metadata.
    """
    metadata = (("authorization", f"Bearer {api_key}"),) if api_key else None
    if credentials is None:
        opened = grpc.insecure_channel(target)
    else:
        opened = grpc.secure_channel(target, credentials)
    with opened as ch:
        stub = pb_grpc.RecommendationServiceStub(ch)
        for customer in customers:
            request = pb.RecommendRequest(
                customer_id=customer, channel=channel, k=k, context=context
            )
            try:
                response = stub.Recommend(request, timeout=timeout_s, metadata=metadata)
            except grpc.RpcError as exc:
                _fail(exc, target)
            _print(response, channel)


def _fail(exc: grpc.RpcError, target: str) -> None:
    code = exc.code()
    hint = ""
    if code == grpc.StatusCode.UNAVAILABLE:
        hint = f" (is `recsys serve` running at {target}? or use --local)"
    elif code == grpc.StatusCode.UNAUTHENTICATED:
        hint = " (pass --api-key or set RECSYS_API_KEY)"
    err_console.print(f"[red]error:[/] {code.name}: {exc.details()}{hint}")
    raise typer.Exit(2 if code in USAGE_CODES else 1)


def unknown_line(customer: str, version: str) -> str:
    """What the CLI says under the table of a customer the model does not know."""
    return (
        f"[yellow]customer {escape(customer)!r} is unknown to model v{escape(version)}: "
        "these are its fallback's popular products, not a personal ranking[/]"
    )


def _print(response: pb.RecommendResponse, channel: str) -> None:
    table = Table(
        title=f"{response.customer_id} on {channel} (model v{response.model_version})",
        caption=f"request {response.request_id}",
    )
    for col in ("#", "product", "category", "score", "reasons"):
        table.add_column(col)
    for item in response.items:
        reasons = "; ".join(r.text for r in item.reasons)
        table.add_row(str(item.rank), item.name, item.category, f"{item.score:.3f}", reasons)
    if not response.items:
        table.add_row("-", "(no suitable product)", "", "", "")
    console.print(table)
    if response.unknown_customer:
        console.print(unknown_line(response.customer_id, response.model_version))
