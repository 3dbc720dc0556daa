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


def test_candidate_site_pairs_change_only_their_candidate_and_respect_the_mask():
    """Pairs join their own candidate's query; masked pairs are ignored."""
    from defectnet_atomate.ml.featurize import N_PAIR_SCALARS

    torch.manual_seed(0)
    net = DefectNet(NetworkConfig(width=32, heads=4, layers=1)).eval()
    b, k, h = 1, 3, 2
    args = (torch.rand(b, 4, 256), torch.tensor([2.7]), torch.tensor([[13, 30]]))
    args += (torch.tensor([[0.5, 0.5]]), torch.tensor([[31, 5, -1]]))
    signals = torch.rand(b, k, h, 2, 256)
    scalars = torch.rand(b, k, h, N_PAIR_SCALARS)
    mask = torch.tensor([[[True, True], [True, False], [False, False]]])
    without = net(*args)[0]
    with_pairs = net(*args, signals, scalars, mask)[0]
    assert not torch.allclose(without[0, :2], with_pairs[0, :2])
    # a masked pair's content does not matter
    changed = signals.clone()
    changed[0, 1, 1] = 5.0
    assert torch.allclose(with_pairs, net(*args, changed, scalars, mask)[0], atol=1e-5)
    # no known pair at all is the same as no pairs
    none = torch.zeros_like(mask)
    assert torch.allclose(without, net(*args, signals, scalars, none)[0], atol=1e-6)


def test_models_saved_before_site_pairs_load_without_them():
    """A saved configuration without ``sites`` (0.2 and before) loads as the network it was."""
    from defectnet_atomate import DefectQuantifier

    small = {"width": 32, "heads": 4, "layers": 1}
    old = DefectQuantifier(network_config={**small, "sites": False}).as_dict()
    del old["network_config"]["sites"]
    loaded = DefectQuantifier.from_dict(old)
    assert loaded.network.pairs is None
    assert DefectQuantifier(network_config=small).network.pairs is not None  # new models have them


def test_fidelity_input_starts_at_zero_and_reads_unset_as_the_direct_level():
    """A fidelity vector per simulation level; ``None`` (predict, measurements) is level 0."""
    from defectnet_atomate.ml.network import FIDELITY_LEVELS, fidelity_level

    assert fidelity_level("direct") == 0 and fidelity_level("measured") == 0
    assert FIDELITY_LEVELS[fidelity_level("mass-defect")] == "mass-defect"
    torch.manual_seed(0)
    small = NetworkConfig(width=32, heads=4, layers=1)
    plain = DefectNet(small).eval()
    net = DefectNet(NetworkConfig(**{**small.to_dict(), "fidelity": True})).eval()
    missing, _ = net.load_state_dict(plain.state_dict(), strict=False)
    assert missing == ["fidelity.weight"]
    args = (torch.rand(2, 4, 256), torch.tensor([2.7, 2.0]), torch.tensor([[13], [14]]))
    args += (torch.tensor([[1.0], [1.0]]), torch.tensor([[31, 5], [6, -1]]))
    levels = torch.tensor([0, 1])
    # at zero the network is the one it was continued from, whatever the level
    assert torch.allclose(plain(*args)[0], net(*args, fidelity=levels)[0])
    with torch.no_grad():
        net.fidelity.weight.normal_()
    unset = net(*args)[0]
    assert torch.allclose(unset, net(*args, fidelity=torch.zeros(2, dtype=torch.long))[0])
    assert not torch.allclose(unset[1], net(*args, fidelity=levels)[0][1])
    # networks without the input ignore it
    assert torch.allclose(plain(*args)[0], plain(*args, fidelity=levels)[0])
