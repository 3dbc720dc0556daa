"""The DefectNet model: featurisation, network, training and the :class:`DefectQuantifier`."""

from __future__ import annotations

from defectnet_atomate.ml.prediction import DefectPrediction, DopantEstimate
from defectnet_atomate.ml.quantifier import DefectQuantifier
from defectnet_atomate.ml.training import split_by_host, split_levels_by_host

__all__ = [
    "DefectPrediction",
    "DefectQuantifier",
    "DopantEstimate",
    "split_by_host",
    "split_levels_by_host",
]
