from __future__ import annotations

import numpy as np
import pytest
from jobflow import Flow, job, run_locally

from defectnet_atomate.builders import DefectPhononBuilder
from defectnet_atomate.flows import DefectPhononMaker
from defectnet_atomate.stores import default_store, query_docs


def _check_physics(doc, n_sites, dopants):
    assert doc["num_sites"] == n_sites
    assert {(d["element"], d["replaces"]) for d in doc["dopants"]} == dopants
    f = np.asarray(doc["pdos"]["frequencies"])
    total = np.asarray(doc["pdos"]["total"])
    assert np.trapezoid(total, f) == pytest.approx(3.0, rel=0.02)
    projected = sum(np.asarray(v) for v in doc["pdos"]["projected"].values())
    assert np.allclose(projected, total, atol=1e-9)
    pristine = doc["pristine_pdos"]
    assert np.trapezoid(pristine["total"], pristine["frequencies"]) == pytest.approx(3.0, rel=0.02)
    cell = doc["cell_pristine_pdos"]  # every engine's documents carry their cell reference
    assert np.trapezoid(cell["total"], cell["frequencies"]) == pytest.approx(3.0, rel=0.02)


def test_atomate2_engine_end_to_end(disk_jobstore, tmp_path, si_structure, clean_dir):
    """Si + Ge through atomate2's force-field PhononMaker (CHGNet), on-disk stores."""
    maker = DefectPhononMaker(engine="atomate2")
    flow = maker.make(si_structure, ["Ge:Si:6.25"], host_id="mp-149")
    responses = run_locally(flow, store=disk_jobstore, ensure_success=True, log=False)
    assert responses
    target = default_store(tmp_path / "docs")
    DefectPhononBuilder(disk_jobstore, target).run()
    with target:
        docs = list(query_docs(target, host="mp-149", dopant="Ge", min_percent=6, max_percent=7))
    assert len(docs) == 1
    doc = docs[0]
    _check_physics(doc, 16, {("Ge", "Si")})
    assert doc["settings"]["engine"] == "atomate2"
    assert doc["flow_uuid"] and doc["job_uuids"]
    assert doc["calculator"]["name"] == "CHGNet"


@job
def _host_from_upstream(structure):
    """Someone else's job that hands over a host (here: a slightly strained copy)."""
    strained = structure.copy()
    strained.scale_lattice(structure.volume * 1.01)
    return strained


def test_direct_engine_inside_a_larger_flow(disk_jobstore, tmp_path, si_structure, clean_dir):
    upstream = _host_from_upstream(si_structure)
    defects = DefectPhononMaker(engine="direct").make(
        upstream.output, [["Ge:Si:6.25"], ["C:Si:6.25"]], host_id="mp-149"
    )
    outer = Flow([upstream, defects], output=defects.output)
    responses = run_locally(outer, store=disk_jobstore, ensure_success=True, log=False)
    outputs = responses[outer.jobs[1].jobs[0].uuid][1].output
    assert outputs.dopant_elements == ["Ge"]
    target = default_store(tmp_path / "docs")
    DefectPhononBuilder(disk_jobstore, target).run()
    with target:
        docs = list(query_docs(target, host="mp-149"))
    assert sorted(d["dopant_elements"][0] for d in docs) == ["C", "Ge"]
    for doc in docs:
        _check_physics(doc, 16, {(doc["dopant_elements"][0], "Si")})
        assert doc["flow_uuid"] == outer.uuid


def test_maker_refuses_bad_input(si_structure):
    with pytest.raises(TypeError, match="dopings must be"):
        DefectPhononMaker().make(si_structure, 5)
    with pytest.raises(ValueError, match="Unknown engine"):
        DefectPhononMaker(engine="magic").make(si_structure, "Ge:Si:5")
    with pytest.raises(ValueError, match="not a chemical element"):
        DefectPhononMaker().make(si_structure, "Qq:Si:5")
    with pytest.raises(ValueError, match="has no O"):
        DefectPhononMaker(engine="direct").make(si_structure, "Ge:O:5")
    with pytest.raises(ValueError, match="raise max_atoms"):
        DefectPhononMaker(max_atoms=64).make(si_structure, "Ge:Si:0.2")
    with pytest.raises(ValueError, match="Unknown force field"):
        DefectPhononMaker(force_field="NoSuchField").make(si_structure, "Ge:Si:5")


def test_doping_sets():
    from defectnet_atomate.flows import _doping_sets

    assert len(_doping_sets("Ge:Si:5")) == 1
    assert len(_doping_sets(["Ge:Si:5", "C:Si:1"])) == 1
    assert len(_doping_sets([["Ge:Si:5"], ["Ge:Si:2", "C:Si:1"]])) == 2
    assert len(_doping_sets([("Ge", "Si", 5)])) == 1


def test_maker_serialises():
    maker = DefectPhononMaker(engine="direct", seed=4)
    again = DefectPhononMaker.from_dict(maker.as_dict())
    assert again.engine == "direct" and again.seed == 4
    assert again.settings == maker.settings


def test_auto_engine_picks_embedding_for_dilute(memory_jobstore, si_structure, clean_dir):
    from defectnet_atomate.phonons.embedding import EmbeddingSettings

    maker = DefectPhononMaker(
        engine="auto",
        embedding_settings=EmbeddingSettings(patch_atoms=64, cutoff=4.0, min_separation=5.0),
    )
    flow = maker.make(si_structure, [["Ge:Si:1.4"], ["Ge:Si:6.25"]], host_id="mp-149")
    responses = run_locally(flow, store=memory_jobstore, ensure_success=True, log=False)
    docs = [responses[j.uuid][1].output for j in flow.jobs]
    assert [d.settings.engine for d in docs] == ["embedding", "direct"]
    dilute = docs[0]
    assert dilute.dopants[0].target_atomic_percent <= 1.5
    assert dilute.pdos.integral() == pytest.approx(3.0, rel=0.02)


def test_auto_engine_hands_cells_smaller_than_the_patch_cell_to_direct(
    memory_jobstore, si_structure, clean_dir
):
    """A whole-cell patch of 128 atoms does not fit a ~72-atom cell: auto runs it directly."""
    from defectnet_atomate.phonons.embedding import EmbeddingSettings

    maker = DefectPhononMaker(
        engine="auto", embedding_settings=EmbeddingSettings(patch_atoms=128, min_separation=5.0)
    )
    flow = maker.make(si_structure, [["Ge:Si:1.4"]], host_id="mp-149")
    responses = run_locally(flow, store=memory_jobstore, ensure_success=True, log=False)
    docs = [responses[j.uuid][1].output for j in flow.jobs]
    assert docs[0].num_sites < 128
    assert docs[0].settings.engine == "direct"


def test_signature_library_maker_fans_out_one_job_per_patch(
    disk_jobstore, tmp_path, si_structure, zno_structure, clean_dir
):
    from defectnet_atomate.flows import SignatureLibraryMaker
    from defectnet_atomate.phonons.embedding import EmbeddingEngine, EmbeddingSettings
    from defectnet_atomate.signatures import SignatureLibrary

    settings = EmbeddingSettings(patch_atoms=16, min_separation=3.0)
    maker = SignatureLibraryMaker(
        force_field="CHGNet", settings=settings, cache_dir=str(tmp_path), series=(1, 2)
    )
    flow = maker.make(si_structure.get_primitive_structure(), ["Ge", "C"])
    responses = run_locally(flow, store=disk_jobstore, ensure_success=True, log=False)
    # the host job, one patch and one series job per candidate (both Si sites alike), the
    # assembly; the series has the two-atom cell only (2x2x2 is the 16-atom patch cell)
    assert len(responses) == 6
    library = disk_jobstore.get_output(flow.jobs[0].uuid, load=True)
    library = SignatureLibrary.from_dict(library) if isinstance(library, dict) else library
    assert library.elements == ["Ge", "C"]
    # the same library as from_host with the same engine (its patches reused from the cache)
    engine = EmbeddingEngine(force_field="CHGNet", settings=settings, cache_dir=str(tmp_path))
    direct = SignatureLibrary.from_host(library.host, ["Ge", "C"], engine=engine, relax=False)
    for a, b in zip(library.signatures, direct.signatures, strict=True):
        assert np.allclose(a["per_percent"], b["per_percent"])
        assert a["per_percent_partial"].keys() == {"Si"}
        assert [e["n_atoms"] for e in a["series"]] == [2]
    with pytest.raises(ValueError, match="host elements"):
        maker.make(si_structure, ["Si"])
    with pytest.raises(ValueError, match="not elements of the host"):
        maker.make(zno_structure, ["Ga"], replaces={"Ga": ["Si"]})
