"""Model families by name, and loading any saved model by the family in its model.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from recsys.models._io import read_model_json
from recsys.models.als import ALSRecommender
from recsys.models.base import Recommender
from recsys.models.blend import BlendRecommender
from recsys.models.bpr import BPRRecommender
from recsys.models.itemknn import ItemKNNRecommender
from recsys.models.lightfm_model import LightFMRecommender
from recsys.models.popularity import PopularityRecommender
from recsys.models.sequence import SequenceRecommender
from recsys.models.transition import TransitionRecommender

FAMILIES: Final[dict[str, type[Recommender]]] = {
    cls.family: cls
    for cls in (
        PopularityRecommender,
        ItemKNNRecommender,
        ALSRecommender,
        BPRRecommender,
        LightFMRecommender,
        SequenceRecommender,
        TransitionRecommender,
        BlendRecommender,
    )
}


def model_class(family: str) -> type[Recommender]:
    """The Recommender class of a family name; ValueError naming the known families."""
    try:
        return FAMILIES[family]
    except KeyError:
        raise ValueError(f"unknown model family {family!r}; known: {sorted(FAMILIES)}") from None


def build_model(family: str, params: dict[str, Any] | None = None) -> Recommender:
    """An unfitted model of `family` with config fields from `params` (validated)."""
    cls = model_class(family)
    return cls.from_config(params or {})


def load_model(path: Path) -> Recommender:
    """Any saved model, by the family recorded in its model.json."""
    return model_class(read_model_json(Path(path))["family"]).load(Path(path))
