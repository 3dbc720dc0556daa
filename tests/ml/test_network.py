from __future__ import annotations

import torch

from defectnet_atomate.ml.network import DefectNet, NetworkConfig


def test_shapes_and_padding_invariance():
    torch.manual_seed(0)
    net = DefectNet(NetworkConfig(width=32, heads=4, layers=1)).eval()
    spectra = torch.rand(2, 4, 256)
    args = (
        spectra,
        torch.tensor([2.7, 2.0]),
        torch.tensor([[13, -1], [11, 7]]),
        torch.tensor([[1.0, 0.0], [0.5, 0.5]]),
    )
    cand = torch.tensor([[31, 5, -1, -1], [8, -1, -1, -1]])
    logits, mu, log_var = net(*args, cand)
    assert logits.shape == mu.shape == log_var.shape == (2, 4)
    padded = torch.cat([cand, torch.full((2, 3), -1)], dim=1)
    logits2, mu2, _ = net(*args, padded)
    assert torch.allclose(logits[0, :2], logits2[0, :2], atol=1e-5)
    assert torch.allclose(mu[1, :1], mu2[1, :1], atol=1e-5)


def test_three_channel_models_read_the_first_three_channels():
    """Models of 0.1 (doped, pristine, difference) still run on today's four channels."""
    torch.manual_seed(0)
    net = DefectNet(NetworkConfig(width=32, heads=4, layers=1, channels=3)).eval()
    spectra = torch.rand(1, 4, 256)
    args = (torch.tensor([2.7]), torch.tensor([[13]]), torch.tensor([[1.0]]), torch.tensor([[31]]))
    out = net(spectra, *args)[0]
    changed = spectra.clone()
    changed[:, 3] = 0.0
    assert torch.allclose(out, net(changed, *args)[0])
