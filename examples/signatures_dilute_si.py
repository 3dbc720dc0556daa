"""Read dilute dopants in silicon by their patch signatures (no trained model involved).

python examples/signatures_dilute_si.py   # 10-15 minutes here (SevenNet patches on one core)

1. Build a signature library of Si for five candidates with SevenNet and 6 A patches (the
   embedding engine's validated setting), caching the patches in a temporary folder.
2. Make a "sample": C and Ge at about 0.4 at.% each in a 500-atom Si cell, simulated by the
   embedding engine (the same patches: this shows the workflow; the independent test against
   the direct engine is ``benchmarks/signature_unmixing.py``), seen by a neutron spectrometer
   with 3 meV resolution.
3. Read it with the library, as a phonon DOS and as a neutron-weighted DOS.
"""

from __future__ import annotations

import tempfile

from pymatgen.core import Lattice, Structure

from defectnet_atomate.phonons.embedding import EmbeddingEngine, EmbeddingSettings
from defectnet_atomate.signatures import SignatureLibrary

silicon = Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0, 0, 0]])
engine = EmbeddingEngine(
    force_field="SevenNet",
    settings=EmbeddingSettings(cutoff=6.0),
    cache_dir=tempfile.mkdtemp(prefix="si-patches-"),
)
library = SignatureLibrary.from_host(
    silicon.get_primitive_structure(), ["C", "Ge", "Sn", "P", "Al"], engine=engine
)
print(f"bulk modulus {library.bulk_modulus * 160.2:.0f} GPa")
for s in library.signatures:
    vegard = 100 * s["ln_volume_per_percent"]
    print(f"{s['element']:>2} on {s['replaces']}: {vegard:+.2f} % volume per at.%")

# the sample: the engine places the dopants at least 7 A apart and checks that they add up
sample = engine.run(library.host, ["C:Si:0.4", "Ge:Si:0.4"], seed=1, max_atoms=520)
truth = {d.element: round(d.atomic_percent, 2) for d in sample.dopants}

# the embedding engine keeps the host's lattice: lattice="fixed"; a real sample is "relaxed"
print("phonon DOS, 3 meV:", library.fit(sample, resolution=3.0, lattice="fixed"), sep="\n")
neutron = library.fit(sample, resolution=3.0, lattice="fixed", kind="neutron")
print("neutron-weighted DOS, 3 meV:", neutron, sep="\n")
print("truth (at.%):", truth)
