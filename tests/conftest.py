"""Shared fixtures, in the spirit of atomate2's tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from monty.serialization import loadfn
from pymatgen.core import Lattice, Structure

TEST_DATA = Path(__file__).parent / "test_data"


@pytest.fixture(scope="session")
def test_dir() -> Path:
    return TEST_DATA


@pytest.fixture
def clean_dir(tmp_path, monkeypatch):
    """Run the test in an empty folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def mantid_nexus(tmp_path):
    """Write a file in the layout of Mantid's ``SaveNexusProcessed`` (a ``Workspace2D``).

    The layout follows Mantid's ``NexusFileIO::writeNexusProcessedData2D``: group
    ``mantid_workspace_<n>/workspace`` with ``values`` and ``errors`` (spectra x bins),
    ``axis1`` (points or bin edges) whose ``units`` attribute is the unit ID (fixed-length
    strings, as the NeXus API writes them), ``axis2`` the spectrum numbers.
    """
    import h5py
    import numpy as np

    def write(name, x, values, errors=None, units="DeltaE", label="meV", entries=1):
        path = tmp_path / name
        values = np.atleast_2d(values)
        with h5py.File(path, "w") as handle:
            for n in range(1, entries + 1):
                group = handle.create_group(f"mantid_workspace_{n}/workspace")
                data = group.create_dataset("values", data=values * n)
                data.attrs["signal"] = np.int32(1)
                data.attrs["axes"] = np.bytes_("axis2,axis1")
                data.attrs["units"] = np.bytes_("Counts")
                group.create_dataset(
                    "errors", data=np.atleast_2d(errors) if errors is not None else 0 * values
                )
                axis = group.create_dataset("axis1", data=np.asarray(x, float))
                axis.attrs["distribution"] = np.bytes_("0")
                axis.attrs["units"] = np.bytes_(units)
                axis.attrs["label"] = np.bytes_(label)
                spectra = group.create_dataset("axis2", data=np.arange(1.0, len(values) + 1))
                spectra.attrs["units"] = np.bytes_("spectraNumber")
        return path

    return write


@pytest.fixture(autouse=True)
def _keep_torch_default_dtype():
    """Force fields may change torch's global default dtype; restore it after each test."""
    import torch

    dtype = torch.get_default_dtype()
    yield
    torch.set_default_dtype(dtype)


@pytest.fixture(scope="session", autouse=True)
def _single_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def si_structure() -> Structure:
    """Primitive diamond Si (2 atoms)."""
    si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]])
    return si.get_primitive_structure()


@pytest.fixture
def zno_structure() -> Structure:
    """Wurtzite ZnO (4 atoms)."""
    return Structure.from_spacegroup(
        "P6_3mc",
        Lattice.hexagonal(3.25, 5.2),
        ["Zn", "O"],
        [[1 / 3, 2 / 3, 0], [1 / 3, 2 / 3, 0.38]],
    )


@pytest.fixture(scope="session")
def si_docs() -> list[dict]:
    """Three real documents (CHGNet, direct engine): Si with Ge, with C, with Ge+Sn."""
    return loadfn(TEST_DATA / "si_doped_docs.json.gz")


@pytest.fixture(scope="session")
def ml_docs() -> list[dict]:
    """84 compact documents of 12 hosts (CHGNet, direct engine), for the model's tests."""
    return loadfn(TEST_DATA / "ml_docs.json.gz")


@pytest.fixture
def memory_jobstore():
    from jobflow import JobStore
    from maggma.stores import MemoryStore

    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    store.connect()
    return store


@pytest.fixture
def disk_jobstore(tmp_path):
    """On-disk JobStore with a ``data`` side store (where atomate2 users hit bugs)."""
    from defectnet_atomate.stores import default_job_store

    store = default_job_store(tmp_path / "jobstore")
    store.connect()
    return store
