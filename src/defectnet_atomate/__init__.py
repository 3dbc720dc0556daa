"""defectnet-atomate: quantify substitutional point defects from phonon densities of states.

The package turns a host crystal and a doping request into phonon density-of-states
documents (atomate2 Makers, fast engines of its own, a maggma store), and is built to
feed a DefectNet-style network that reads dopants and their concentrations back from a
spectrum.
"""

from __future__ import annotations

__version__ = "0.31.0"

__all__ = ["DefectPrediction", "DefectQuantifier", "__version__"]


def __getattr__(name: str) -> object:
    """Import the model lazily (torch is only loaded when it is used)."""
    if name in ("DefectQuantifier", "DefectPrediction"):
        from defectnet_atomate import ml

        return getattr(ml, name)
    raise AttributeError(f"module 'defectnet_atomate' has no attribute {name!r}")
