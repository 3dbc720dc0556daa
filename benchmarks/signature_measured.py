"""Dopant signatures on measurement-like spectra: the measurement terms against none.

python benchmarks/signature_measured.py --direct-cache DIR --cache-dir DIR [--hosts mp-149 ...]
    [--part FILE.json.gz --part-cache-dir DIR] [--draws 3] [--seed 0] [--kind neutron]
    [--json benchmarks/results/signature_measured.json]

The test spectra of ``signature_unmixing.py`` (the 9 dilute direct-engine configurations of
Si, ZnS, MgO and LiF, and with ``--part`` a SevenNet embedding part), each as an infinite
crystal would show it (its change against its own cell reference, on the library's grid,
over the library's pristine DOS), are turned into measurements ``--draws`` times: a seeded
draw of :class:`~defectnet_atomate.ml.augment.MeasurementAugmentation` (every effect
present: an energy axis up to 2 % off, up to 8 % of the area in a two-phonon tail, an
energy-dependent resolution, a background, counting noise up to 4 % of the peak). The
undoped host is measured alike (same instrument and sample effects, noise of its own) for
the false-positive rate. Readings, all given the instrument's resolution:

- **as simulated**: :meth:`SignatureLibrary.fit` with nothing for the measurement (0.24);
- **measurement terms**: ``nuisance=MEASURED`` (background, multiphonon tail, resolution
  error) and ``scale="fit"``; also with ``significance=2`` (present only from two standard
  errors);
- **weighted by error bars**: the same terms, the spectrum given with its counting error
  bars (the noise's standard deviation), so that the fit weights each bin by its error;
- **other background**: the same reading of spectra whose background has another shape
  than the fitted terms (a Lorentzian elastic tail and a linear ramp instead of the
  augmentation's exponential tail), so that the terms are not tested on their own form;
- **measured reference**: read against the undoped host measured alike (``pristine=``, a
  second noisy measurement), ``scale="fit"`` from it, no other terms;
- **network**: ``DefectQuantifier.predict`` of the shipped model on the same measured
  spectrum against the library's simulated pristine DOS as a plain spectrum (composition
  given, so no candidate-site inputs), the instrument's resolution given,
  ``measured=True, align=True`` (the reference matched to the instrument).

With ``--kind neutron`` the spectra are the neutron-weighted DOS (inelastic neutron
scattering), read with the neutron-weighted signatures and pristine DOS, and the network
with ``kind="neutron"``; only spectra with element projections (or a stored neutron-weighted
DOS) take part: the part's documents, and the direct configurations whose cached DOS keeps
its projections.

Scores as in ``signature_unmixing.py`` (AUC, precision, recall, F1, MAE in at.%), plus the
share of undoped measurements with any candidate called present. Signatures and spectra
come from the same potential (SevenNet): this measures the reading of measurement effects,
not the potential against experiment. The last line printed is a JSON object.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch
from common import emit
from signature_unmixing import _metrics, direct_rows, forms, part_rows, spectra_parser

from defectnet_atomate.ml.augment import MeasurementAugmentation
from defectnet_atomate.signatures import MEASURED
from defectnet_atomate.spectra import UNIT_TO_THZ, Spectrum

METHODS = (
    "as_simulated",
    "terms",
    "terms_significance",
    "terms_weighted",
    "terms_other_background",
    "measured_reference",
    "network",
)
SIGNIFICANCE = 2.0


def _other_background(spectrum: Spectrum, f_max: float, level: float) -> Spectrum:
    """A background of another shape than the terms': Lorentzian elastic tail, linear ramp."""
    f, d = spectrum.frequencies, spectrum.densities
    ramp = 0.4 * f / f_max + 1.0 / (1.0 + (f / (0.04 * f_max)) ** 2)
    return Spectrum(f, d + level * d.max() * ramp, "THz")


def _with_errors(measured: Spectrum, clean: Spectrum, f_max: float, instrument: dict) -> Spectrum:
    """``measured`` with the error bars of its counting noise (as a reduction gives them)."""
    quiet = MeasurementAugmentation.distort(clean, f_max, **{**instrument, "noise": 0.0})
    sigma = instrument["noise"] * np.sqrt(quiet.densities.max() * quiet.densities)
    return Spectrum(measured.frequencies, measured.densities, "THz", errors=sigma)


def _fit_reading(fit, significance: float = 0.0) -> dict:
    present = [
        el
        for el in fit.present
        if fit.concentrations[el] >= significance * fit.uncertainties.get(el, 0.0)
    ]
    return {
        "explained": round(fit.explained, 4),
        "scale": round(fit.scale, 4),
        "candidates": {
            el: {"score": c, "percent": c, "present": el in present}
            for el, c in fit.concentrations.items()
        },
    }


def _network_reading(prediction) -> dict:
    called = {d.element for d in prediction.present}
    return {
        "candidates": {
            d.element: {
                "score": d.probability,
                "percent": d.atomic_percent,
                "present": d.element in called,
            }
            for d in prediction.dopants
        }
    }


def measured_reader(draws: int, seed: int, kind: str = "pdos"):
    """A reader for ``direct_rows``/``part_rows``: ``draws`` measurements of each spectrum."""
    augmentation = MeasurementAugmentation(probability=1.0)

    def read(library, mass_library, quantifier, example, observed, candidates, truth, lattice):
        if kind not in forms(library, observed):
            return {"truth": truth, "draws": []}  # no projections: not in this kind's set
        doped, references = forms(library, observed)[kind]
        change = library.change(doped, kind=kind, **references)
        f = library.frequencies
        own = library.pristine if kind == "pdos" else library.pristine_neutron
        pristine = Spectrum(f, np.asarray(own), "THz", source="pristine")
        sample = Spectrum(f, np.clip(pristine.densities + change, 0, None), "THz")
        f_max = pristine.quantile_frequency(0.999)
        key = zlib.crc32(f"{example.host_id}:{sorted(truth.items())}".encode())

        def fit(spectrum, resolution, reference=None, **kwargs):
            return library.fit(
                spectrum,
                candidates=candidates,
                pristine=None
                if reference is None
                else (reference.frequencies, reference.densities),
                unit="THz",
                resolution=resolution,
                lattice=lattice,
                kind=kind,
                **kwargs,
            )

        def predict(spectrum, resolution):
            return quantifier.predict(
                (spectrum.frequencies, spectrum.densities),
                host=(f, pristine.densities),
                candidates=candidates,
                unit="THz",
                composition=example.composition,
                resolution=resolution,
                measured=True,
                align=True,
                kind=kind,
            )

        out = []
        for draw in range(draws):
            rng = np.random.default_rng([seed, key, draw])
            instrument = augmentation.draw(f_max, rng)
            a, b = instrument["fwhm"]
            resolution = [a / UNIT_TO_THZ["meV"], b]  # FWHM in meV, a0 + a1 E
            measured = augmentation.distort(sample, f_max, rng=rng, **instrument)
            blank = augmentation.distort(pristine, f_max, rng=rng, **instrument)
            with_errors = [
                _with_errors(x, y, f_max, instrument)
                for x, y in ((measured, sample), (blank, pristine))
            ]
            blank_again = augmentation.distort(pristine, f_max, rng=rng, **instrument)
            flat = {**instrument, "background": 0.0}
            level = instrument["background"]
            other = _other_background(
                augmentation.distort(sample, f_max, rng=rng, **flat), f_max, level
            )
            other_blank = _other_background(
                augmentation.distort(pristine, f_max, rng=rng, **flat), f_max, level
            )

            terms = {"nuisance": MEASURED, "scale": "fit"}
            # (spectrum, its error-barred twin, its other-background twin, (reading, reference))
            cases = {
                "doped": (measured, with_errors[0], other, (measured, blank)),
                "undoped": (blank, with_errors[1], other_blank, (blank_again, blank)),
            }
            fits = {}
            for case, (spectrum, weighted, shifted, (again, reference)) in cases.items():
                fits[case] = {
                    "as_simulated": fit(spectrum, resolution),
                    "terms": fit(spectrum, resolution, **terms),
                    "terms_weighted": fit(weighted, resolution, **terms),
                    "terms_other_background": fit(shifted, resolution, **terms),
                    "measured_reference": fit(again, resolution, reference, scale="fit"),
                }
            doped_fits, blank_fits = fits["doped"], fits["undoped"]
            reading = {"truth": truth, "draw": draw, "instrument": instrument}
            reading.update({m: _fit_reading(x) for m, x in doped_fits.items()})
            reading["terms_significance"] = _fit_reading(doped_fits["terms"], SIGNIFICANCE)
            reading["network"] = _network_reading(predict(measured, resolution))
            undoped = {m: _fit_reading(x) for m, x in blank_fits.items()}
            undoped["terms_significance"] = _fit_reading(blank_fits["terms"], SIGNIFICANCE)
            undoped["network"] = _network_reading(predict(blank, resolution))
            reading["pristine_called"] = {
                m: sorted(el for el, c in r["candidates"].items() if c["present"])
                for m, r in undoped.items()
            }
            out.append(reading)
        return {"truth": truth, "draws": out}

    return read


def _summary(rows: list[dict]) -> dict:
    readings = [r for row in rows for r in row["draws"]]
    summary = {}
    for method in METHODS:
        metrics = _metrics(readings, method)
        called = [bool(r["pristine_called"][method]) for r in readings]
        metrics["pristine_false_positive_rate"] = round(float(np.mean(called)), 3)
        summary[method] = metrics
    return summary


def main() -> dict:
    parser = spectra_parser(__doc__.splitlines()[0])
    parser.add_argument("--part-cache-dir", default=None, help="its hosts' patches")
    parser.add_argument("--draws", type=int, default=3, help="measurements per spectrum")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--kind",
        default="pdos",
        choices=["pdos", "neutron"],
        help="pdos (default) or neutron (the neutron-weighted DOS of inelastic scattering)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    from defectnet_atomate.ml.quantifier import DefectQuantifier

    quantifier = DefectQuantifier.from_pretrained()
    read = measured_reader(args.draws, args.seed, args.kind)
    result: dict = {
        "force_field": "SevenNet",
        "model": quantifier.name,
        "draws": args.draws,
        "seed": args.seed,
        "kind": args.kind,
        "significance": SIGNIFICANCE,
        "augmentation": MeasurementAugmentation(probability=1.0).as_dict(),
    }
    sets = [] if args.skip_direct else [("direct", direct_rows, args.cache_dir)]
    if args.part:
        sets.append(("embedding_part", part_rows, args.part_cache_dir or args.cache_dir))
    for name, run, cache_dir in sets:
        args.cache_dir = cache_dir
        rows, libraries = run(args, quantifier, read=read)
        result[name] = {"libraries": libraries, **_summary(rows), "rows": rows}
        print(name, {m: result[name][m] for m in METHODS}, flush=True)
    return emit(result, args.json)


if __name__ == "__main__":
    main()
