"""Read dilute dopants in silicon by their patch signatures (no trained model involved).

python examples/signatures_dilute_si.py   # 10-15 minutes here (SevenNet patches on one core)

1. Build a signature library of Si for five candidates with SevenNet and 6 A patches (the
   embedding engine's validated setting), caching the patches in a temporary folder.
2. Make a "sample": C and Ge at about 0.4 at.% each in a 500-atom Si cell, simulated by the
   embedding engine (the same patches: this shows the workflow; the independent test against
   the direct engine is ``benchmarks/signature_unmixing.py``), seen by a neutron spectrometer
   with 3 meV resolution.
3. Read it with the library, as a phonon DOS and as a neutron-weighted DOS.
4. Turn its neutron-weighted DOS into a measurement-like file (energy axis 1.5 % high, a
   multiphonon tail, a background, 1 meV + 2 % resolution, counting noise with error bars,
   in meV) and read that file as a measurement: the measurement terms, the fitted energy
   scale and the error bars, against reading it as if it were a simulation.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from pymatgen.core import Lattice, Structure

from defectnet_atomate.ml.augment import MeasurementAugmentation
from defectnet_atomate.phonons.embedding import EmbeddingEngine, EmbeddingSettings
from defectnet_atomate.signatures import MEASURED, SignatureLibrary
from defectnet_atomate.spectra import UNIT_TO_THZ, Spectrum, read_spectrum_file

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

# a measurement-like file of the same sample: what a spectrometer and its reduction give
neutron_dos = library.change(sample, kind="neutron") + np.asarray(library.pristine_neutron)
clean = Spectrum(library.frequencies, np.clip(neutron_dos, 0, None), "THz")
fwhm_thz = (1.0 * UNIT_TO_THZ["meV"], 0.02)  # 1 meV + 2 % of the energy transfer
effects = {"fwhm": fwhm_thz, "scale": 1.015, "multiphonon": 0.03, "background": 0.01}
quiet = MeasurementAugmentation.distort(clean, library.scale, **effects)
errors = 0.01 * np.sqrt(quiet.densities.max() * quiet.densities)  # 1 % counting noise at the peak
counts = quiet.densities + errors * np.random.default_rng(0).standard_normal(errors.size)
file = Path(tempfile.mkdtemp(prefix="si-ins-")) / "si_c_ge.dat"
energy_mev = quiet.frequencies / UNIT_TO_THZ["meV"]
np.savetxt(file, np.c_[energy_mev, np.clip(counts, 0, None), errors], header="E(meV) S err")
measured = read_spectrum_file(file)
resolution = [1.0, 0.02]  # FWHM in meV: 1 meV + 2 % of E
as_simulated = library.fit(measured, resolution=resolution, lattice="fixed", kind="neutron")
print("the file read as if simulated:", as_simulated, sep="\n")
as_measured = library.fit(
    measured,
    resolution=resolution,
    lattice="fixed",
    kind="neutron",
    nuisance=MEASURED,
    scale="fit",
    significance=2.0,
)
print("the file read as a measurement:", as_measured, sep="\n")
