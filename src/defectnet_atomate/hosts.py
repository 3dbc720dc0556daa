"""The host library: real crystals to dope (phonondb 2018, CC-BY-4.0).

The library file (``phonondb-2018-hosts.jsonl.gz``, one JSON object per line with ``id``,
``POSCAR-unitcell``, ``phonopy.conf`` and, for insulators and semiconductors, ``BORN``)
is not shipped inside the package; point :func:`load_hosts` at it, or set
``DEFECTNET_HOSTS_FILE``.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from monty.json import MSONable
from pymatgen.core import Structure

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["HostEntry", "find_host", "iter_hosts", "load_hosts"]

_CANDIDATES = (
    Path("../shared/data/hosts/phonondb-2018-hosts.jsonl.gz"),
    Path("shared/data/hosts/phonondb-2018-hosts.jsonl.gz"),
)


@dataclass
class HostEntry(MSONable):
    """A host crystal of the library.

    Attributes
    ----------
    host_id
        Materials Project id, e.g. ``"mp-149"``.
    structure
        Primitive cell (pymatgen's ``get_primitive_structure`` of the phonondb unit cell).
    semiconductor
        Whether phonondb has Born charges for it (insulator or semiconductor).
    """

    host_id: str
    structure: Structure
    semiconductor: bool


def _library_path(path: str | Path | None) -> Path:
    if path is None:
        env = os.environ.get("DEFECTNET_HOSTS_FILE")
        candidates = [Path(env)] if env else list(_CANDIDATES)
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(
            "The host library (phonondb-2018-hosts.jsonl.gz) was not found; pass its path "
            "or set DEFECTNET_HOSTS_FILE."
        )
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Host library {path} does not exist; pass the .jsonl.gz file.")
    return path


def iter_hosts(
    path: str | Path | None = None, semiconductors_only: bool = True, max_sites: int | None = None
) -> Iterator[HostEntry]:
    """Iterate over the host library (primitive cells), in file order.

    Parameters
    ----------
    path
        The ``.jsonl.gz`` (or ``.jsonl``) file; see the module docstring for the default.
    semiconductors_only
        Keep only entries with Born charges (insulators and semiconductors).
    max_sites
        Skip hosts whose primitive cell has more atoms.
    """
    path = _library_path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        for line in handle:
            if not line.strip():
                continue
            entry = json.loads(line)
            semiconductor = bool(entry.get("BORN"))
            if semiconductors_only and not semiconductor:
                continue
            structure = Structure.from_str(entry["POSCAR-unitcell"], fmt="poscar")
            if max_sites is not None and len(structure) > 4 * max_sites:
                continue
            primitive = structure.get_primitive_structure()
            if max_sites is not None and len(primitive) > max_sites:
                continue
            yield HostEntry(entry["id"], primitive, semiconductor)


def load_hosts(path: str | Path | None = None, **kwargs: object) -> list[HostEntry]:
    """Load the host library as a list (see :func:`iter_hosts`)."""
    return list(iter_hosts(path, **kwargs))


def find_host(host_id: str, path: str | Path | None = None) -> HostEntry:
    """Return one host of the library by its id (e.g. ``"mp-149"``)."""
    for entry in iter_hosts(path, semiconductors_only=False):
        if entry.host_id == host_id:
            return entry
    raise KeyError(f"No host {host_id!r} in the host library; check the id (e.g. 'mp-149').")
