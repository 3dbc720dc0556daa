"""Engines that turn a structure into force constants and phonon DOS.

- :mod:`.calculators`: universal potentials (ASE calculators) with provenance.
- :mod:`.dos`: force constants -> modes -> total and element-projected DOS (phonopy).
- :mod:`.direct`: the lean direct engine (relax, finite displacements, DOS) that keeps
  the potential loaded between configurations.
"""
