"""Add DefectPhononMaker to an atomate2 workflow: relax a host, then dope it (about a minute).

python examples/atomate2_workflow.py
"""

from __future__ import annotations

import tempfile

from atomate2.forcefields.jobs import ForceFieldRelaxMaker
from jobflow import Flow, run_locally
from pymatgen.core import Lattice, Structure

from defectnet_atomate.builders import DefectPhononBuilder
from defectnet_atomate.flows import DefectPhononMaker
from defectnet_atomate.stores import default_job_store, default_store, query_docs

si = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]])
si = si.get_primitive_structure()

# someone else's job hands over the host: here an atomate2 force-field relaxation
relax = ForceFieldRelaxMaker(force_field_name="CHGNet").make(si)
defects = DefectPhononMaker(engine="direct").make(
    relax.output.structure, [["Ge:Si:6.25"], ["C:Si:6.25"]], host_id="mp-149"
)
workflow = Flow([relax, defects], name="relax then dope")

folder = tempfile.mkdtemp()  # use default_job_store() to keep results in your data folder
job_store, docs = default_job_store(folder), default_store(folder)
run_locally(workflow, store=job_store, log=False, ensure_success=True)
DefectPhononBuilder(job_store, docs).run()
with docs:
    for doc in query_docs(docs, host="mp-149"):
        print(
            doc["dopant_elements"],
            doc["num_sites"],
            "atoms, lowest mode",
            round(doc["min_frequency"], 2),
            "THz",
        )
