"""Roles of API keys and the gRPC methods each may call (pure: names in, yes/no out).

Methods are gRPC full names, `/package.Service/Method`. Health and reflection stay open to
everyone, keyed or not, so load balancers and grpcurl work against a secured server.
"""

from __future__ import annotations

from typing import Final

CHANNEL: Final = "channel"
MARKETING: Final = "marketing"
ADMIN: Final = "admin"
ROLES: Final = (CHANNEL, MARKETING, ADMIN)

_RECOMMENDATION: Final = "/recsys.v1.RecommendationService/"
CHANNEL_METHODS: Final = frozenset(
    _RECOMMENDATION + m for m in ("Recommend", "RecommendBatch", "SimilarProducts", "RecordEvents")
)
# Every method of the offers service, including ones added after this was written.
MARKETING_PREFIX: Final = "/recsys.v1.OfferService/"
OPEN_PREFIXES: Final = ("/grpc.health.v1.Health/", "/grpc.reflection.")
_ADMIN: Final = "/recsys.v1.AdminService/"
ANY_KEY_METHODS: Final = frozenset({_ADMIN + "WhoAmI"})  # who am I: every valid key may ask
# what the console shows marketing besides offers; the rest of AdminService is admin's
MARKETING_METHODS: Final = frozenset(
    _ADMIN + m for m in ("GetCatalog", "ListModelVersions")
) | frozenset(
    # experiments: marketing reads them; admin manages them
    "/recsys.v1.ExperimentService/" + m for m in ("Get", "List", "Report")
)


def check_role(role: str) -> str:
    """`role` when it is one of ROLES; ValueError naming the choices otherwise."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    return role


def is_open(method: str) -> bool:
    """Whether `method` may be called without a key (health checks, reflection)."""
    return method.startswith(OPEN_PREFIXES)


def allowed(role: str, method: str) -> bool:
    """Whether a key of `role` may call `method` (an unknown role may call nothing)."""
    if role == ADMIN:
        return True
    if role in ROLES and method in ANY_KEY_METHODS:
        return True
    if role == CHANNEL:
        return method in CHANNEL_METHODS
    if role == MARKETING:
        return method.startswith(MARKETING_PREFIX) or method in MARKETING_METHODS
    return False


def roles_allowed(method: str) -> tuple[str, ...]:
    """The roles that may call `method`, for error messages."""
    return tuple(r for r in ROLES if allowed(r, method))
