"""Recommenders behind one interface: sparse histories in internal ids in, (ids, scores) out."""

from recsys.models.base import Recommender
from recsys.models.reason import Reason, ReasonCode
from recsys.models.registry import FAMILIES, build_model, load_model, model_class
from recsys.models.train_data import TrainData

__all__ = [
    "FAMILIES",
    "Reason",
    "ReasonCode",
    "Recommender",
    "TrainData",
    "build_model",
    "load_model",
    "model_class",
]
