"""Training examples, the training loop and the metrics of DefectNet.

Examples come from :class:`~defectnet_atomate.schemas.DefectPhononDoc` documents (dicts
from a store are fine). Each document gives a doped example; its pristine spectrum gives
a pristine example (no dopant present), used to keep false positives down. Candidates are
the true dopants plus distractors: elements the recommender proposes for that host and
elements seen as dopants elsewhere, so the model must find which candidates are present.
"""

from __future__ import annotations

import copy
import hashlib
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from pymatgen.core import Element
from torch import nn

from defectnet_atomate.dataset import MAX_RESIDUAL_FORCE
from defectnet_atomate.ml.elements import MAX_Z, element_index, element_masses
from defectnet_atomate.ml.featurize import (
    MAX_CANDIDATES,
    Features,
    collate,
    featurize_spectra,
    with_candidates,
)
from defectnet_atomate.ml.network import fidelity_level
from defectnet_atomate.spectra import Spectrum, projected_spectra, sampling_corrected

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence

    from defectnet_atomate.ml.augment import MeasurementAugmentation
    from defectnet_atomate.ml.network import DefectNet

__all__ = [
    "CONCENTRATION_BINS",
    "Example",
    "TrainingConfig",
    "calibrate_threshold",
    "evaluate_network",
    "examples_from_docs",
    "potential_of",
    "split_by_host",
    "split_levels_by_host",
    "train_network",
]

CONCENTRATION_BINS = ((0.2, 1.0), (1.0, 5.0), (5.0, 25.0))
"""Concentration bins of the metrics, at.%."""

DETECTION_BINS = ((0.2, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 5.0), (5.0, 10.0), (10.0, 25.0))
"""Finer bins (at.%) of the detection rate: how often a dopant present at that
concentration is called present (the recall of those dopants)."""


@dataclass
class Example:
    """One spectrum with its host, true dopants and distractor pool."""

    doped: Spectrum
    pristine: Spectrum
    composition: dict[str, float]
    truth: dict[str, float]  # element -> at.% (empty for a pristine example)
    host_id: str
    pool: list[str] = field(default_factory=list)  # host-specific distractors
    # the engine that simulated it; "measured" for a measurement-like copy (a network with a
    # fidelity input reads it at level 0, as predict reads a measurement)
    engine: str = "direct"
    projected: dict[str, Spectrum] | None = None  # the pristine host's projected DOS
    # (doped, pristine) as neutron-weighted DOS, where the document allows (training on
    # neutron measurements: MeasurementAugmentation.neutron)
    neutron: tuple[Spectrum, Spectrum] | None = None
    # what ``doped`` is: "pdos", or "neutron" for a neutron-weighted copy (judged with the
    # quantifier's threshold for neutron measurements)
    kind: str = "pdos"
    # element -> (doped, pristine) partial DOS of that host element, sampling-corrected
    # alike, where the document keeps the projected DOS of all three spectra (direct parts
    # since 2026.12): what nuclear resonant scattering measures (training on them:
    # TrainingConfig.partial; partial_forms)
    partials: dict[str, tuple[Spectrum, Spectrum]] | None = field(default=None, repr=False)
    # the potential that simulated it (the document's calculator; "CHGNet" where unrecorded)
    force_field: str = "CHGNet"
    _features: Features | None = field(default=None, repr=False, compare=False)

    def has_sites(self) -> bool:
        """Whether the model gets candidate-site inputs for this example (projected DOS)."""
        if self._features is None:
            self._features = featurize_spectra(
                self.doped, self.pristine, self.composition, self.projected
            )
        return self._features.site_dos is not None

    def features(self, candidates: Sequence[str], sites: bool = True) -> Features:
        """Model inputs with ``candidates`` (the spectral part is computed once).

        ``sites=False`` leaves out the candidate-site pairs (as for a measured reference
        without the host's projected DOS).
        """
        if self._features is None:
            self._features = featurize_spectra(
                self.doped, self.pristine, self.composition, self.projected
            )
        base = self._features if sites else replace(self._features, site_dos=None)
        return with_candidates(base, self.composition, candidates)


def _spectrum(pdos: dict, source: str) -> Spectrum:
    return Spectrum(pdos["frequencies"], pdos["total"], "THz", source=source)


def _neutron_pair(d: dict) -> tuple[Spectrum, Spectrum] | None:
    """Return the document's (doped, pristine) spectra neutron-weighted, sampling-corrected alike.

    ``None`` unless the doped spectrum (and its cell reference, where it has one) carries
    a neutron-weighted form or projections and the pristine one its projections
    (:func:`~defectnet_atomate.dataset.neutron_form`).
    """
    from defectnet_atomate.dataset import neutron_form

    def weighted(pdos: dict | None) -> dict | None:
        values = neutron_form(pdos) if pdos else None
        return None if values is None else {"frequencies": pdos["frequencies"], "total": values}

    doped, pristine = weighted(d["pdos"]), weighted(d["pristine_pdos"])
    if doped is None or pristine is None:
        return None
    if d.get("cell_pristine_pdos"):
        cell = weighted(d["cell_pristine_pdos"])
        if cell is None:
            return None
        doped = sampling_corrected(doped, cell, pristine)
    return (
        _spectrum(doped, "doped spectrum (neutron-weighted)"),
        _spectrum(pristine, "pristine spectrum (neutron-weighted)"),
    )


def _partial_pairs(d: dict, doped: dict) -> dict[str, tuple[Spectrum, Spectrum]] | None:
    """Each host element's (doped, pristine) partial DOS of a document (``None`` if not kept).

    ``doped`` is the document's doped DOS as training reads it (sampling-corrected where the
    document has a cell reference, which carries the projections only where all three
    spectra have them).
    """
    if d.get("cell_pristine_pdos") and not d["cell_pristine_pdos"].get("projected"):
        return None
    doped_parts, pristine_parts = doped.get("projected"), d["pristine_pdos"].get("projected")
    if not doped_parts or not pristine_parts:
        return None
    f_doped, f_pristine = doped["frequencies"], d["pristine_pdos"]["frequencies"]
    return {
        el: (
            Spectrum(f_doped, doped_parts[el], "THz", f"doped spectrum ({el} partial)"),
            Spectrum(f_pristine, values, "THz", f"pristine spectrum ({el} partial)"),
        )
        for el, values in pristine_parts.items()
        if el in doped_parts  # an element all of whose atoms were replaced has none
    }


def partial_forms(examples: Iterable[Example]) -> list[Example]:
    """Every example as the partial DOS of each host element it keeps (``kind="partial:X"``).

    What ``predict(kind="partial:X")`` reads: one element's partial DOS against the pristine
    host's partial DOS of that element, with the host's projected DOS for the site inputs.
    Examples without :attr:`Example.partials` give none.
    """
    return [
        replace(
            e,
            doped=doped,
            pristine=pristine,
            kind=f"partial:{el}",
            neutron=None,
            partials=None,
            _features=None,
        )
        for e in examples
        for el, (doped, pristine) in sorted((e.partials or {}).items())
    ]


def potential_of(doc: Mapping[str, Any]) -> str:
    """Return the potential that simulated a document.

    Its calculator's name; ``"CHGNet"``, the package's default, where it records none.
    """
    return (doc.get("calculator") or {}).get("name") or "CHGNet"


def examples_from_docs(
    docs: Iterable[Any],
    include_pristine: bool = True,
    max_imaginary_fraction: float = 0.02,
    pools: dict[str, list[str]] | None = None,
    pristine_copies: int = 1,
    max_residual_force: float | None = MAX_RESIDUAL_FORCE,
) -> list[Example]:
    """Turn documents into examples.

    Parameters
    ----------
    docs
        ``DefectPhononDoc`` objects or their dicts.
    include_pristine
        Add one pristine example per host (from the first document of that host).
    max_imaginary_fraction
        Documents with a larger fraction of imaginary modes are left out (the stated rule
        for unstable spectra; they are kept in the store, flagged). So are documents with a
        dopant beyond Pu (the model's elements, :data:`~defectnet_atomate.ml.elements.MAX_Z`;
        the mass-defect engine can simulate them), and such elements leave the pools.
    pools
        Host id -> distractor elements; default: the dopants of the host's other documents
        plus its recommender suggestions when they can be computed.
    pristine_copies
        Copies of each pristine example (with augmentation each copy is distorted anew):
        one per host is a few percent of a large training set, too few to keep false
        positives on pristine spectra down.
    max_residual_force
        Documents whose doped cell stopped relaxing with a larger residual force (eV/A;
        recorded by the direct engine, and by exports from format v7) are left out: the
        cell is not at its minimum (:data:`~defectnet_atomate.dataset.MAX_RESIDUAL_FORCE`).
        Documents that do not record it are kept; ``None`` keeps all.
    """
    examples, pristine_done = [], set()
    docs = [d if isinstance(d, dict) else d.model_dump() for d in docs]
    by_host: dict[str, set[str]] = {}
    for d in docs:
        host_id = d["host"].get("host_id") or d["host"]["formula"]
        by_host.setdefault(host_id, set()).update(d["dopant_elements"])
    for d in docs:
        if d.get("imaginary_fraction", 0.0) > max_imaginary_fraction:
            continue
        residual = (d.get("relaxation") or {}).get("max_force")
        if max_residual_force is not None and (residual or 0.0) > max_residual_force:
            continue
        if any(Element(el).Z > MAX_Z for el in d["dopant_elements"]):
            continue
        host_id = d["host"].get("host_id") or d["host"]["formula"]
        composition = d["host"]["composition"]
        pool = sorted(
            el for el in (pools or {}).get(host_id, by_host[host_id]) if Element(el).Z <= MAX_Z
        )
        pristine = _spectrum(d["pristine_pdos"], "pristine spectrum")
        projected = projected_spectra(d["pristine_pdos"])
        doped = d["pdos"]
        if d.get("cell_pristine_pdos"):
            doped = sampling_corrected(doped, d["cell_pristine_pdos"], d["pristine_pdos"])
        neutron = _neutron_pair(d)
        partials = _partial_pairs(d, doped)
        force_field = potential_of(d)
        examples.append(
            Example(
                doped=_spectrum(doped, "doped spectrum"),
                pristine=pristine,
                composition=composition,
                truth={x["element"]: float(x["atomic_percent"]) for x in d["dopants"]},
                host_id=host_id,
                pool=pool,
                engine=d["settings"]["engine"],
                projected=projected,
                neutron=neutron,
                partials=partials,
                force_field=force_field,
            )
        )
        if include_pristine and host_id not in pristine_done:
            pristine_done.add(host_id)
            pristine_neutron = (neutron[1], neutron[1]) if neutron is not None else None
            pristine_partials = (
                {el: (p, p) for el, (_, p) in partials.items()} if partials else None
            )
            examples += [
                Example(
                    pristine,
                    pristine,
                    composition,
                    {},
                    host_id,
                    pool,
                    d["settings"]["engine"],
                    projected,
                    pristine_neutron,
                    partials=pristine_partials,
                    force_field=force_field,
                )
                for _ in range(pristine_copies)
            ]
    return examples


def _candidates(
    example: Example,
    rng: np.random.Generator,
    global_pool: Sequence[str],
    max_distractors: int,
    local_fraction: float = 0.6,
    similar_mass: float = 0.0,
) -> list[str]:
    """Draw the true dopants plus random distractors (defaults: the evaluation's draw).

    Each distractor comes from the host's own pool with chance ``local_fraction``, else
    from the global pool; with chance ``similar_mass`` it is instead the remaining element
    closest in mass to one of the true dopants (a hard negative).
    """
    truth = list(example.truth)
    exclude = set(truth) | set(example.composition)
    room = min(max_distractors, MAX_CANDIDATES - len(truth))
    n = int(rng.integers(0 if truth else 1, room + 1))
    local = [e for e in example.pool if e not in exclude]
    others = [e for e in global_pool if e not in exclude and e not in local]
    masses = element_masses()
    chosen: list[str] = []
    for _ in range(n):
        if truth and similar_mass > 0 and (local or others) and rng.random() < similar_mass:
            target = np.log(masses[element_index(truth[int(rng.integers(len(truth)))])])
            source = min(
                (local, others),
                key=lambda s: min(
                    (abs(np.log(masses[element_index(e)]) - target) for e in s), default=np.inf
                ),
            )
            pick = min(source, key=lambda e: abs(np.log(masses[element_index(e)]) - target))
            source.remove(pick)
            chosen.append(pick)
            continue
        source = local if (local and (rng.random() < local_fraction or not others)) else others
        if not source:
            break
        pick = source.pop(int(rng.integers(len(source))))
        chosen.append(pick)
    candidates = truth + chosen
    rng.shuffle(candidates)
    return candidates


def _batch(
    examples: Sequence[Example],
    candidate_sets: Sequence[Sequence[str]],
    augment: MeasurementAugmentation | None = None,
    rng: np.random.Generator | None = None,
    site_dropout: float = 0.0,
    partial: float = 0.0,
) -> dict[str, torch.Tensor]:
    feats = []
    for e, c in zip(examples, candidate_sets, strict=True):
        sites = rng is None or site_dropout <= 0 or rng.random() >= site_dropout
        if rng is not None and partial > 0 and e.partials and rng.random() < partial:
            # one host element's partial DOS instead (nuclear resonant scattering)
            el = sorted(e.partials)[int(rng.integers(len(e.partials)))]
            e = replace(e, doped=e.partials[el][0], pristine=e.partials[el][1], neutron=None)
            e = replace(e, kind=f"partial:{el}", partials=None, _features=None)
        if augment is None or rng is None:
            feats.append(e.features(c, sites))
            continue
        doped, pristine = augment(e.doped, e.pristine, rng, neutron=e.neutron)
        if doped is e.doped and pristine is e.pristine:
            feats.append(e.features(c, sites))
        else:
            projected = e.projected if sites else None
            base = featurize_spectra(doped, pristine, e.composition, projected)
            feats.append(with_candidates(base, e.composition, c))
    k = MAX_CANDIDATES
    present = np.zeros((len(examples), k), dtype=np.float32)
    log_conc = np.zeros((len(examples), k), dtype=np.float32)
    for i, (e, cands) in enumerate(zip(examples, candidate_sets, strict=True)):
        for j, el in enumerate(cands):
            if el in e.truth:
                present[i, j] = 1
                log_conc[i, j] = math.log(e.truth[el])
    return {
        **collate(feats),
        # each spectrum's simulation fidelity (read by networks with NetworkConfig.fidelity)
        "fidelity": torch.as_tensor([fidelity_level(e.engine) for e in examples]),
        "present": torch.as_tensor(present),
        "log_conc": torch.as_tensor(log_conc),
    }


def _forward(network: DefectNet, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    return network(**{k: v for k, v in batch.items() if k not in ("present", "log_conc")})


def _loss(
    network: DefectNet, batch: dict[str, torch.Tensor], pristine_top_weight: float = 0.0
) -> torch.Tensor:
    logits, mu, log_var = _forward(network, batch)
    mask = batch["cand_z"] >= 0
    present = batch["present"]
    bce = nn.functional.binary_cross_entropy_with_logits(logits, present, reduction="none")
    bce = (bce * mask).sum() / mask.sum()
    if pristine_top_weight > 0:
        # a pristine spectrum is called doped when ANY candidate passes the threshold: the
        # per-candidate loss spreads over its candidates, this one pushes its most
        # confident candidate down (averaged over the batch, so it scales with their share)
        pristine = ~(present > 0).any(dim=1) & mask.any(dim=1)
        if pristine.any():
            top = logits.masked_fill(~mask, -torch.inf)[pristine].amax(dim=1)
            bce = bce + pristine_top_weight * nn.functional.softplus(top).sum() / len(logits)
    has = present > 0
    if has.any():
        target = batch["log_conc"][has]
        m, lv = mu[has], log_var[has]
        mean_loss = nn.functional.smooth_l1_loss(m, target, beta=0.1)
        nll = 0.5 * (torch.exp(-lv) * (m.detach() - target) ** 2 + lv).mean()
        return bce + 2.0 * mean_loss + 0.2 * nll
    return bce


@dataclass
class TrainingConfig:
    """Settings of :func:`train_network`."""

    epochs: int = 60
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    patience: int = 12
    seed: int = 0
    max_distractors: int = 5
    checkpoint_dir: str | None = None
    progress: bool = True
    augment: MeasurementAugmentation | None = None
    site_dropout: float = 0.2
    """Chance that a training example hides its candidate-site pairs (as a measured
    reference without the host's projected DOS does at prediction)."""
    local_distractors: float = 0.6
    """Chance that a training distractor comes from the host's own pool of plausible
    dopants rather than from all dopants seen (validation and evaluation keep 0.6)."""
    similar_mass_distractors: float = 0.0
    """Chance that a training distractor is the element closest in mass to a true dopant
    (a hard negative: the mass-defect part of the spectrum cannot tell them apart)."""
    pristine_top_weight: float = 0.0
    """Weight of an extra loss on the most confident candidate of each pristine example
    (softplus of its logit): a pristine spectrum is called doped when any of its candidates
    passes, which the per-candidate loss does not target (0: off, as before 0.18)."""
    partial: float = 0.0
    """Chance that a training example that keeps partial DOS (:attr:`Example.partials`) is
    read as one host element's partial DOS instead (drawn at random among them; then
    distorted as ``augment`` says): training for ``predict(kind="partial:X")`` (0: off, and
    no random number is drawn, as before 0.20)."""


def train_network(
    network: DefectNet,
    train: Sequence[Example],
    validation: Sequence[Example] | None,
    config: TrainingConfig,
    parameters: Iterable[torch.nn.Parameter] | None = None,
) -> dict[str, list[float]]:
    """Train with AdamW and early stopping on the validation loss; keep the best weights.

    Parameters
    ----------
    network
        The network (trained in place).
    train, validation
        Examples; the validation loss uses fixed candidate sets (seeded).
    config
        :class:`TrainingConfig`.
    parameters
        Parameters to optimise (default: all; fine-tuning passes a subset).

    Returns
    -------
    dict
        ``train_loss`` and ``validation_loss`` per epoch.
    """
    from tqdm.auto import tqdm

    if not train:
        raise ValueError("No training examples; check the documents or the split.")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    global_pool = sorted({el for e in train for el in e.truth})
    val_sets = None
    if validation:
        val_rng = np.random.default_rng(config.seed + 1)
        val_sets = [
            _candidates(e, val_rng, global_pool, config.max_distractors) for e in validation
        ]
    params = list(parameters) if parameters is not None else list(network.parameters())
    optimiser = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, max(config.epochs, 1))
    history: dict[str, list[float]] = {"train_loss": [], "validation_loss": []}
    best, best_state, stale = math.inf, copy.deepcopy(network.state_dict()), 0
    bar = tqdm(range(config.epochs), disable=not config.progress, desc="epochs", unit="epoch")
    for _ in bar:
        network.train()
        order = rng.permutation(len(train))
        losses = []
        for start in range(0, len(order), config.batch_size):
            chunk = [train[i] for i in order[start : start + config.batch_size]]
            sets = [
                _candidates(
                    e,
                    rng,
                    global_pool,
                    config.max_distractors,
                    config.local_distractors,
                    config.similar_mass_distractors,
                )
                for e in chunk
            ]
            loss = _loss(
                network,
                _batch(chunk, sets, config.augment, rng, config.site_dropout, config.partial),
                config.pristine_top_weight,
            )
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, 5.0)
            optimiser.step()
            losses.append(loss.item())
        scheduler.step()
        history["train_loss"].append(float(np.mean(losses)))
        if val_sets is not None:
            network.eval()
            with torch.no_grad():
                val = float(_loss(network, _batch(validation, val_sets)))
            history["validation_loss"].append(val)
            if val < best - 1e-4:
                best, best_state, stale = val, copy.deepcopy(network.state_dict()), 0
                if config.checkpoint_dir:
                    folder = Path(config.checkpoint_dir)
                    folder.mkdir(parents=True, exist_ok=True)
                    torch.save(best_state, folder / "best.pt")
            else:
                stale += 1
            bar.set_postfix(train=history["train_loss"][-1], val=val)
            if stale >= config.patience:
                break
        else:
            best_state = copy.deepcopy(network.state_dict())
    network.load_state_dict(best_state)
    network.eval()
    return history


def predict_arrays(
    network: DefectNet,
    examples: Sequence[Example],
    candidate_sets: Sequence[Sequence[str]],
    batch_size: int = 256,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities, predicted at.% and ln-space standard deviations, each ``(n, K)``."""
    network.eval()
    probs, concs, sigmas = [], [], []
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            batch = _batch(
                examples[start : start + batch_size], candidate_sets[start : start + batch_size]
            )
            logits, mu, log_var = _forward(network, batch)
            probs.append(torch.sigmoid(logits).numpy())
            concs.append(torch.exp(mu).numpy())
            sigmas.append(torch.exp(0.5 * log_var).numpy())
    return np.concatenate(probs), np.concatenate(concs), np.concatenate(sigmas)


def evaluate_network(
    network: DefectNet,
    examples: Sequence[Example],
    threshold: float | Sequence[float] = 0.5,
    sigma_scale: float = 1.0,
    seed: int = 1234,
    max_distractors: int = 5,
    global_pool: Sequence[str] | None = None,
    gate: float | Sequence[float] | None = None,
) -> dict[str, Any]:
    """Metrics on examples, with seeded distractor candidates.

    Returns identification precision, recall and F1; concentration MAE (at.%), median
    relative error and recall overall, by concentration bin (also for spectra with a single
    dopant) and by number of dopants; the detection rate (recall) in finer concentration
    bins (``detection_by_concentration``); the
    false-positive rate on pristine spectra; the rate at which distractors are called
    present, for those from the host's own pool of plausible dopants and the others; and the
    coverage of the one-sigma interval. ``threshold`` is one decision threshold, or one per
    example; ``gate`` likewise the probability that a spectrum's most probable candidate
    must reach before any candidate counts as present (``None``: no gate beyond the
    threshold; see :func:`calibrate_decision`). ``global_pool``: where the distractors not
    drawn from the host's own pool (chance 0.4) come from (``None``: the dopants of the
    examples; ``[]``: nowhere, every distractor is a plausible dopant of the host).
    """
    shape = (len(examples),)
    thresholds = np.broadcast_to(np.asarray(threshold, float), shape)
    gates = thresholds if gate is None else np.broadcast_to(np.asarray(gate, float), shape)
    rng = np.random.default_rng(seed)
    if global_pool is None:
        global_pool = sorted({el for e in examples for el in e.truth})
    pool = list(global_pool)
    sets = [_candidates(e, rng, pool, max_distractors) for e in examples]
    probs, concs, sigmas = predict_arrays(network, examples, sets)
    tp = fp = fn = 0
    pristine_total = pristine_flagged = 0
    rows = []  # (true, predicted, n_dopants, within_sigma, called present)
    # per dopant element: [found, missed, abs errors]; per host family: [tp, fp, fn]
    elements: dict[str, list] = {}
    families: dict[str, list[int]] = {}
    # distractors called present / drawn: plausible for this host (its pool) or not
    distractors = {"host_pool": [0, 0], "other": [0, 0]}
    for i, (e, cands) in enumerate(zip(examples, sets, strict=True)):
        flagged = False
        family = families.setdefault(host_family(e.composition), [0, 0, 0])
        doped = probs[i, : len(cands)].max() >= gates[i] if cands else False
        for j, el in enumerate(cands):
            yes = doped and probs[i, j] >= thresholds[i]
            flagged |= bool(yes)
            if el in e.truth:
                tp += int(yes)
                fn += int(not yes)
                family[0 if yes else 2] += 1
                err = abs(math.log(concs[i, j]) - math.log(e.truth[el]))
                rows.append(
                    (
                        e.truth[el],
                        float(concs[i, j]),
                        len(e.truth),
                        err <= sigma_scale * sigmas[i, j],
                        bool(yes),
                    )
                )
                stats = elements.setdefault(el, [0, 0, []])
                stats[0 if yes else 1] += 1
                stats[2].append(abs(float(concs[i, j]) - e.truth[el]))
            else:
                fp += int(yes)
                family[1] += int(yes)
                kind = distractors["host_pool" if el in e.pool else "other"]
                kind[0] += int(yes)
                kind[1] += 1
        if not e.truth:
            pristine_total += 1
            pristine_flagged += int(flagged)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    # ranking quality of the presence probabilities (0.5: chance), and the F1 of calling every
    # candidate present, the trivial baseline that the F1 above must beat
    pos = np.array(
        [
            probs[i, j]
            for i, (e, c) in enumerate(zip(examples, sets, strict=True))
            for j, el in enumerate(c)
            if el in e.truth
        ]
    )
    neg = np.array(
        [
            probs[i, j]
            for i, (e, c) in enumerate(zip(examples, sets, strict=True))
            for j, el in enumerate(c)
            if el not in e.truth
        ]
    )
    auc = None
    if pos.size and neg.size:
        auc = float(
            (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
        )
    baseline = 2 * pos.size / (2 * pos.size + neg.size) if pos.size else 0.0
    metrics: dict[str, Any] = {
        "n_examples": len(examples),
        "n_dopants_total": len(rows),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "auc": auc,
        "f1_all_present_baseline": baseline,
        "pristine_false_positive_rate": pristine_flagged / pristine_total
        if pristine_total
        else None,
        "n_pristine": pristine_total,
        "distractor_false_positive_rate": {
            k: {"rate": called / n if n else None, "n": n} for k, (called, n) in distractors.items()
        },
    }
    if rows:
        true = np.array([r[0] for r in rows])
        pred = np.array([r[1] for r in rows])
        n_dop = np.array([r[2] for r in rows])
        found = np.array([r[4] for r in rows])
        abs_err = np.abs(pred - true)
        rel_err = abs_err / true
        metrics["mae_at_percent"] = float(abs_err.mean())
        metrics["median_relative_error"] = float(np.median(rel_err))
        metrics["sigma_coverage"] = float(np.mean([r[3] for r in rows]))
        metrics["by_concentration"] = {
            f"{lo}-{hi}": {
                "n": int(((true >= lo) & (true < hi)).sum()),
                "recall": _mean(found[(true >= lo) & (true < hi)]),
                "mae_at_percent": _mean(abs_err[(true >= lo) & (true < hi)]),
                "median_relative_error": _median(rel_err[(true >= lo) & (true < hi)]),
            }
            for lo, hi in CONCENTRATION_BINS
        }
        metrics["detection_by_concentration"] = {
            f"{lo}-{hi}": {
                "n": int(((true >= lo) & (true < hi)).sum()),
                "recall": _mean(found[(true >= lo) & (true < hi)]),
            }
            for lo, hi in DETECTION_BINS
        }
        single = n_dop == 1
        metrics["by_concentration_single_dopant"] = {
            f"{lo}-{hi}": {
                "n": int((single & (true >= lo) & (true < hi)).sum()),
                "recall": _mean(found[single & (true >= lo) & (true < hi)]),
                "mae_at_percent": _mean(abs_err[single & (true >= lo) & (true < hi)]),
                "median_relative_error": _median(rel_err[single & (true >= lo) & (true < hi)]),
            }
            for lo, hi in CONCENTRATION_BINS
        }
        metrics["by_n_dopants"] = {
            str(k): {
                "n": int((n_dop == k).sum()),
                "recall": _mean(found[n_dop == k]),
                "mae_at_percent": _mean(abs_err[n_dop == k]),
                "median_relative_error": _median(rel_err[n_dop == k]),
            }
            for k in range(1, 7)
        }
        metrics["by_element"] = {
            el: {
                "n": v[0] + v[1],
                "recall": v[0] / (v[0] + v[1]),
                "mae_at_percent": float(np.mean(v[2])),
            }
            for el, v in sorted(elements.items())
        }
    metrics["by_host_family"] = {
        name: {"n_dopants": v[0] + v[2], "f1": _f1(*v)} for name, v in sorted(families.items())
    }
    return metrics


FAMILIES = (
    ("halide", {"F", "Cl", "Br", "I"}),
    ("oxide", {"O"}),
    ("chalcogenide", {"S", "Se", "Te"}),
    ("pnictide", {"N", "P", "As", "Sb", "Bi"}),
    ("hydride", {"H"}),
)
"""Host families of the metrics, by anion (the first match in this order)."""


def host_family(composition: dict[str, float]) -> str:
    """Family of a host from its elements: halide, oxide, ..., or "other" (e.g. Si, SiC)."""
    present = set(composition)
    for name, anions in FAMILIES:
        if present & anions:
            return name
    return "other"


def _f1(tp: int, fp: int, fn: int) -> float | None:
    if tp + fp + fn == 0:
        return None
    return 2 * tp / (2 * tp + fp + fn)


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if values.size else None


def calibrate_decision(
    network: DefectNet,
    examples: Sequence[Example],
    seed: int = 98,
    max_distractors: int = 5,
    max_pristine_fpr: float = 0.02,
    gated: bool = True,
    min_gate: float = 0.3,
    plausible_pristine: bool = False,
) -> tuple[float, float]:
    """Decision rule that maximises F1 on held-out examples with distractors.

    A candidate counts as present when its probability reaches ``threshold`` and the
    spectrum's most probable candidate reaches ``gate`` (at least ``threshold``): the gate
    decides whether a spectrum is doped at all, and so sets the false-positive rate on
    pristine spectra, while the lower threshold decides which candidates of a doped
    spectrum are called. Among the rules whose false-positive rate on the pristine
    examples is at most ``max_pristine_fpr``, the one with the best F1 (or, if none
    qualifies, the one with the lowest such rate). Gates run from ``min_gate`` (at least
    0.3) to 0.95, thresholds from 0.1 (``gated=False``: one threshold from 0.3, the gate
    equal to it). Distractors are drawn as :func:`evaluate_network` draws them; with
    ``plausible_pristine`` the pristine examples are offered only their host's plausible
    dopants (its pool), as a user checking an undoped sample offers the recommender's
    candidates: those are called present two to three times as often as the evaluation's
    mix (``benchmarks/pristine_candidates.py``), so the budget holds for that use.

    Returns
    -------
    tuple of float
        ``(threshold, gate)``.
    """
    rng = np.random.default_rng(seed)
    pool = sorted({el for e in examples for el in e.truth})
    sets = [
        _candidates(e, rng, [] if plausible_pristine and not e.truth else pool, max_distractors)
        for e in examples
    ]
    probs, _, _ = predict_arrays(network, examples, sets)
    truth = np.zeros_like(probs, dtype=bool)
    valid = np.zeros_like(probs, dtype=bool)
    for i, (e, cands) in enumerate(zip(examples, sets, strict=True)):
        for j, el in enumerate(cands):
            valid[i, j] = True
            truth[i, j] = el in e.truth
    probs = np.where(valid, probs, 0.0)
    top = probs.max(axis=1, keepdims=True)
    pristine = np.array([not e.truth for e in examples])
    grid = np.round(np.arange(0.1, 0.951, 0.025), 3)
    best: tuple[tuple[float, float], float, float] | None = None  # (key, threshold, gate)
    for gate in grid[grid >= max(0.3, min(min_gate, 0.95) - 1e-9)]:
        for t in grid[grid <= gate] if gated else [gate]:
            called = (probs >= t) & (top >= gate) & valid
            tp = int((called & truth).sum())
            fp = int((called & ~truth).sum())
            fn = int((~called & truth & valid).sum())
            f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
            fpr = float(called[pristine].any(axis=1).mean()) if pristine.any() else 0.0
            ok = fpr <= max_pristine_fpr
            key = (float(ok), f1 if ok else -fpr)
            if best is None or key > best[0]:
                best = (key, float(t), float(gate))
    return (best[1], best[2]) if best else (0.5, 0.5)


def calibrate_threshold(
    network: DefectNet,
    examples: Sequence[Example],
    seed: int = 98,
    max_distractors: int = 5,
    max_pristine_fpr: float = 0.02,
) -> float:
    """One decision threshold (no separate gate) that maximises F1 on held-out examples.

    Among thresholds from 0.3 to 0.95, the best F1 among those whose false-positive rate on
    the pristine examples is at most ``max_pristine_fpr`` (or, if none is, the one with the
    lowest such rate); :func:`calibrate_decision` with ``gated=False``.
    """
    return calibrate_decision(
        network, examples, seed, max_distractors, max_pristine_fpr, gated=False
    )[0]


def calibrate_sigma(network: DefectNet, examples: Sequence[Example], seed: int = 99) -> float:
    """Scale of the predicted spread that makes the one-sigma interval cover 68.3 % (held out)."""
    rng = np.random.default_rng(seed)
    pool = sorted({el for e in examples for el in e.truth})
    present = [e for e in examples if e.truth]
    if not present:
        return 1.0
    sets = [_candidates(e, rng, pool, 0) for e in present]
    _, concs, sigmas = predict_arrays(network, present, sets)
    ratios = []
    for i, (e, cands) in enumerate(zip(present, sets, strict=True)):
        for j, el in enumerate(cands):
            ratios.append(abs(math.log(concs[i, j]) - math.log(e.truth[el])) / sigmas[i, j])
    return float(np.quantile(ratios, 0.683)) if ratios else 1.0


def _host_of(d: Any) -> str:
    host = d["host"] if isinstance(d, dict) else d.host.model_dump()
    return host.get("host_id") or host["formula"]


def _split_hosts(
    hosts: Sequence[str], fractions: Sequence[float], seed: int, stable: bool = False
) -> list[set[str]]:
    """Hosts into groups of the given fractions.

    ``stable=False``: a seeded shuffle cut at exact shares. ``stable=True``: each host by a
    hash of ``(seed, host)`` against the cumulative fractions, so that adding hosts never
    moves one already assigned (the shares are then only expected values).
    """
    edges = np.cumsum(fractions) / np.sum(fractions)
    if stable:
        groups: list[set[str]] = [set() for _ in fractions]
        for host in hosts:
            digest = hashlib.sha256(f"{seed}:{host}".encode()).digest()
            u = int.from_bytes(digest[:8], "big") / 2**64
            groups[min(int(np.searchsorted(edges, u, side="right")), len(groups) - 1)].add(host)
        return groups
    hosts = sorted(hosts)
    order = np.random.default_rng(seed).permutation(len(hosts))
    bounds = np.round(edges * len(hosts)).astype(int)
    groups, start = [], 0
    for stop in bounds:
        groups.append({hosts[i] for i in order[start:stop]})
        start = stop
    return groups


def split_by_host(
    docs: Sequence[Any], fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0
) -> list[list[Any]]:
    """Split documents into sets whose hosts never overlap (the "unseen crystals" split).

    Parameters
    ----------
    docs
        Documents (objects or dicts).
    fractions
        Fraction of hosts in each set.
    seed
        Seed of the host shuffle.
    """
    groups = _split_hosts({_host_of(d) for d in docs}, fractions, seed)
    return [[d for d in docs if _host_of(d) in g] for g in groups]


def split_levels_by_host(
    high: Sequence[Any],
    low: Sequence[Any],
    fractions: Sequence[float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    shuffled_hosts: Collection[str] | None = None,
) -> tuple[list[list[Any]], list[list[Any]]]:
    """Split two fidelity levels by host together (a host falls in one set in both).

    The hosts that have high-fidelity spectra (e.g. the direct engine's) are shuffled and
    split first, so that every set gets its share of them although they are few; each host
    that only the low level has (e.g. mass-defect spectra) goes to the set that a hash of
    its id and the seed picks, so that a growing dataset never moves such a host between
    sets (a test host stays unseen by every later model of the same seed).

    Parameters
    ----------
    high, low
        Documents (or dicts) of the two levels, each with ``host.host_id``.
    fractions
        Shares of the training, validation and test sets.
    seed
        Seed of the shuffle and of the hash.
    shuffled_hosts
        The host ids split by the seeded shuffle; every other host, high-level ones
        included, goes by the hash. ``None``: the hosts of ``high``. Once the high level is
        large, pass the high-level hosts of an earlier split here: the shuffle then stays
        what it was, and a host that gains high-level spectra keeps the set its hash gave it
        when it had only low-level ones, so that a model continued from an earlier one
        (``scripts/train_pretrained.py --init-from``) is still tested on hosts it never saw.

    Returns
    -------
    tuple
        ``(high_sets, low_sets)``, each a list of one list of documents per fraction.
    """
    all_hosts = {_host_of(d) for d in high} | {_host_of(d) for d in low}
    shuffled = {_host_of(d) for d in high} if shuffled_hosts is None else set(shuffled_hosts)
    groups = [
        a | b
        for a, b in zip(
            _split_hosts(shuffled, fractions, seed),
            _split_hosts(all_hosts - shuffled, fractions, seed, stable=True),
            strict=True,
        )
    ]
    return (
        [[d for d in high if _host_of(d) in g] for g in groups],
        [[d for d in low if _host_of(d) in g] for g in groups],
    )
