"""The DefectNet attention network (pure torch, no I/O).

A convolutional encoder turns the binned spectra into frequency tokens; the host
composition conditions the tokens (FiLM); each candidate element is a query (its
embedding is computed from chemical descriptors plus a learned per-element offset) that
attends over the tokens in transformer decoder layers, where candidates also attend to
each other (so two candidates cannot both claim the same spectral feature). Per
candidate the heads give a presence logit, the mean of ln(at.%) and its log-variance.

Since 0.3 (``NetworkConfig.sites``) each candidate also reads its candidate-site pairs
(:mod:`~defectnet_atomate.ml.featurize`): a small convolutional encoder compares each
pair's mass-defect signature with the observed difference, a learned site affinity
weighs the host elements the candidate could replace, and the result joins the
candidate's query. Models saved without it load and run as before.

Since 0.21 (``NetworkConfig.fidelity``) the network may also learn one vector per
simulation fidelity of its training spectra (:data:`FIDELITY_LEVELS`), added to the host
vector: the cheap mass-defect spectra then need not be read like spectra with the full
physics. Without ``fidelity`` given, a spectrum is read at level 0 (the direct engine, and
every measured spectrum).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from defectnet_atomate.ml.elements import MAX_Z, N_FEATURES, element_features
from defectnet_atomate.ml.featurize import N_PAIR_SCALARS

__all__ = ["FIDELITY_LEVELS", "DefectNet", "NetworkConfig", "fidelity_level"]

FIDELITY_LEVELS = ("direct", "mass-defect", "embedding")
"""Simulation fidelity of a spectrum, by engine; level 0 (``"direct"``, the whole doped cell
displaced) is also how measured spectra are read."""


def fidelity_level(engine: str) -> int:
    """Index of ``engine`` in :data:`FIDELITY_LEVELS` (0 for any other, e.g. a measurement)."""
    return FIDELITY_LEVELS.index(engine) if engine in FIDELITY_LEVELS else 0


@dataclass
class NetworkConfig:
    """Sizes of the network."""

    n_bins: int = 256
    channels: int = 4
    width: int = 128
    heads: int = 8
    layers: int = 2
    dropout: float = 0.1
    element_dropout: float = 0.2
    sites: bool = True
    fidelity: bool = False

    def to_dict(self) -> dict:
        """Return the configuration as a plain dict."""
        return asdict(self)


class ElementEmbedding(nn.Module):
    """Element -> vector from chemical descriptors plus a learned, dropped-out offset."""

    def __init__(self, width: int, element_dropout: float) -> None:
        super().__init__()
        self.register_buffer("descriptors", torch.as_tensor(element_features()), persistent=False)
        self.mlp = nn.Sequential(nn.Linear(N_FEATURES, width), nn.GELU(), nn.Linear(width, width))
        self.offset = nn.Embedding(MAX_Z, width)
        nn.init.normal_(self.offset.weight, std=0.02)
        self.element_dropout = element_dropout

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Embed element rows ``z`` (-1 = padding, embedded as zeros)."""
        safe = z.clamp(min=0)
        out = self.mlp(self.descriptors[safe])
        offset = self.offset(safe)
        if self.training and self.element_dropout > 0:
            keep = (torch.rand(z.shape, device=z.device) > self.element_dropout).unsqueeze(-1)
            offset = offset * keep
        return (out + offset) * (z >= 0).unsqueeze(-1)


class PairEncoder(nn.Module):
    """Candidate-site pairs -> one vector per candidate (signature against observation)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        # per pair: signature, site DOS, observed difference (asinh), doped - pristine
        self.conv = nn.Sequential(
            nn.Conv1d(4, 32, 7, padding=3, stride=2),
            nn.GELU(),
            nn.Conv1d(32, 64, 5, padding=2, stride=2),
            nn.GELU(),
            nn.Conv1d(64, 64, 3, padding=1),
        )
        self.pooled = nn.Linear(128, width)
        self.scalars = nn.Sequential(
            nn.Linear(N_PAIR_SCALARS + 6, width), nn.GELU(), nn.Linear(width, width)
        )
        self.affinity = nn.Sequential(nn.GELU(), nn.Linear(width, 1))

    def forward(
        self,
        spectra: torch.Tensor,
        signals: torch.Tensor,
        scalars: torch.Tensor,
        mask: torch.Tensor,
        relative: torch.Tensor,
    ) -> torch.Tensor:
        """Return ``(B, K, width)``; zeros for candidates without a known pair.

        ``relative`` is ``(B, K, H, 6)``: candidate descriptors minus the site element's.
        """
        b, k, h = signals.shape[:3]
        out = torch.zeros(b, k, h, self.pooled.out_features, device=signals.device)
        if mask.any():
            idx = mask.nonzero(as_tuple=True)
            observed = spectra[idx[0]][:, 2:4]  # difference and its log
            x = torch.cat([signals[idx], observed], dim=1)
            y = self.conv(x)
            pooled = torch.cat([y.mean(-1), y.amax(-1)], dim=-1)
            pair = self.pooled(pooled) + self.scalars(
                torch.cat([scalars[idx], relative[idx]], dim=-1)
            )
            out = out.index_put(idx, pair)
        logits = self.affinity(out).squeeze(-1).masked_fill(~mask, -1e4)
        weights = torch.softmax(logits, dim=-1) * mask.any(-1, keepdim=True)
        return (weights.unsqueeze(-1) * out).sum(2)


class DefectNet(nn.Module):
    """Spectra + host + candidates -> per-candidate presence, ln(at.%) and its log-variance."""

    def __init__(self, config: NetworkConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or NetworkConfig()
        w = config.width
        self.encoder = nn.Sequential(
            nn.Conv1d(config.channels + 1, 64, 7, padding=3),
            nn.GELU(),
            nn.Conv1d(64, 96, 5, padding=2, stride=2),
            nn.GELU(),
            nn.Conv1d(96, w, 5, padding=2),
            nn.GELU(),
            nn.Conv1d(w, w, 3, padding=1),
        )
        self.position = nn.Parameter(torch.zeros(1, config.n_bins // 2, w))
        nn.init.normal_(self.position, std=0.02)
        self.elements = ElementEmbedding(w, config.element_dropout)
        self.host_mlp = nn.Sequential(nn.Linear(w + 1, w), nn.GELU(), nn.Linear(w, 2 * w))
        # candidate descriptors relative to the host's (mass, group, period, radius,
        # electronegativity, ionic radius): what transfers from one host to another
        self.relative = nn.Sequential(nn.Linear(6, w), nn.GELU(), nn.Linear(w, w))
        layer = nn.TransformerDecoderLayer(
            w, config.heads, dim_feedforward=2 * w, dropout=config.dropout, batch_first=True
        )
        self.decoder = nn.TransformerDecoder(layer, config.layers)
        self.pairs = PairEncoder(w) if config.sites else None
        self.norm = nn.LayerNorm(w)
        self.presence = nn.Linear(w, 1)
        self.concentration = nn.Linear(w, 2)
        # zero at first: a model continued from one without it starts as that model
        self.fidelity = nn.Embedding(len(FIDELITY_LEVELS), w) if config.fidelity else None
        if self.fidelity is not None:
            nn.init.zeros_(self.fidelity.weight)

    def _queries_and_tokens(
        self,
        spectra: torch.Tensor,
        log_scale: torch.Tensor,
        host_z: torch.Tensor,
        host_frac: torch.Tensor,
        cand_z: torch.Tensor,
        pair_signals: torch.Tensor | None = None,
        pair_scalars: torch.Tensor | None = None,
        pair_mask: torch.Tensor | None = None,
        fidelity: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        full = spectra
        spectra = spectra[:, : self.config.channels]  # 0.1 models read the first three
        b, _, n = spectra.shape
        grid = torch.linspace(0, 1, n, device=spectra.device).expand(b, 1, n)
        tokens = self.encoder(torch.cat([spectra, grid], dim=1)).transpose(1, 2)
        tokens = tokens + self.position
        host = (self.elements(host_z) * host_frac.unsqueeze(-1)).sum(1)
        if self.fidelity is not None:
            if fidelity is None:  # read as the full physics (a measurement)
                fidelity = torch.zeros(b, dtype=torch.long, device=spectra.device)
            host = host + self.fidelity(fidelity)
        film = self.host_mlp(torch.cat([host, (log_scale - 2.5).unsqueeze(-1)], dim=-1))
        gamma, beta = film.chunk(2, dim=-1)
        tokens = tokens * (1 + gamma.unsqueeze(1)) + beta.unsqueeze(1)
        desc = self.elements.descriptors[:, :6]
        host_desc = (desc[host_z.clamp(min=0)] * host_frac.unsqueeze(-1)).sum(1)
        relative = desc[cand_z.clamp(min=0)] - host_desc.unsqueeze(1)
        relative = relative * (cand_z >= 0).unsqueeze(-1)
        queries = self.elements(cand_z) + host.unsqueeze(1) + self.relative(relative)
        if self.pairs is not None and pair_signals is not None and pair_mask is not None:
            site_desc = desc[host_z.clamp(min=0)]  # (B, H, 6)
            pair_relative = desc[cand_z.clamp(min=0)].unsqueeze(2) - site_desc.unsqueeze(1)
            queries = queries + self.pairs(
                full, pair_signals, pair_scalars, pair_mask, pair_relative
            )
        return queries, tokens

    def attention(
        self,
        spectra: torch.Tensor,
        log_scale: torch.Tensor,
        host_z: torch.Tensor,
        host_frac: torch.Tensor,
        cand_z: torch.Tensor,
        pair_signals: torch.Tensor | None = None,
        pair_scalars: torch.Tensor | None = None,
        pair_mask: torch.Tensor | None = None,
        fidelity: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Where each candidate looked: last decoder layer's cross-attention, ``(B, K, T)``.

        Averaged over heads; token ``t`` covers bins ``2t`` and ``2t + 1`` of the input.
        """
        queries, tokens = self._queries_and_tokens(
            spectra,
            log_scale,
            host_z,
            host_frac,
            cand_z,
            pair_signals,
            pair_scalars,
            pair_mask,
            fidelity,
        )
        pad = cand_z < 0
        x = queries
        layers = list(self.decoder.layers)
        for layer in layers[:-1]:
            x = layer(x, tokens, tgt_key_padding_mask=pad)
        last = layers[-1]
        x = last.norm1(x + last._sa_block(x, None, pad))
        _, weights = last.multihead_attn(
            x, tokens, tokens, need_weights=True, average_attn_weights=True
        )
        return weights

    def forward(
        self,
        spectra: torch.Tensor,
        log_scale: torch.Tensor,
        host_z: torch.Tensor,
        host_frac: torch.Tensor,
        cand_z: torch.Tensor,
        pair_signals: torch.Tensor | None = None,
        pair_scalars: torch.Tensor | None = None,
        pair_mask: torch.Tensor | None = None,
        fidelity: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run the network.

        Parameters
        ----------
        spectra
            ``(B, channels, n_bins)``.
        log_scale
            ``(B,)`` log of the host's highest frequency (THz).
        host_z, host_frac
            ``(B, H)`` host element rows (-1 padded) and atomic fractions.
        cand_z
            ``(B, K)`` candidate element rows (-1 padded).
        pair_signals, pair_scalars, pair_mask
            Candidate-site pairs, ``(B, K, H, 2, n_bins)``, ``(B, K, H, N_PAIR_SCALARS)``
            and ``(B, K, H)`` (:func:`~defectnet_atomate.ml.featurize.collate`); optional.

        Returns
        -------
        tuple of torch.Tensor
            Presence logits, means of ln(at.%) and their log-variances, each ``(B, K)``.
        """
        queries, tokens = self._queries_and_tokens(
            spectra,
            log_scale,
            host_z,
            host_frac,
            cand_z,
            pair_signals,
            pair_scalars,
            pair_mask,
            fidelity,
        )
        pad = cand_z < 0
        out = self.norm(self.decoder(queries, tokens, tgt_key_padding_mask=pad))
        logits = self.presence(out).squeeze(-1)
        mu, log_var = self.concentration(out).unbind(-1)
        return logits, mu + 1.0, log_var.clamp(-8, 4)
