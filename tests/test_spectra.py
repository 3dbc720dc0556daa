from __future__ import annotations

import numpy as np
import pytest

from defectnet_atomate.spectra import (
    Spectrum,
    SpectrumError,
    broaden_modes,
    frequency_grid,
    read_spectrum_file,
    spectral_overlap,
    to_thz,
)


def test_unit_conversion():
    assert to_thz([4.135667696], "meV")[0] == pytest.approx(1.0)
    assert to_thz([33.35640951981521], "cm-1")[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="Unknown frequency unit"):
        to_thz([1.0], "eV")


def test_grid_starts_at_or_below_zero_and_holds_the_modes():
    grid = frequency_grid(2.0, 15.3)
    assert grid[0] <= 0 and grid[-1] >= 15.3 + 0.5
    assert np.allclose(np.diff(grid), 0.05)
    grid = frequency_grid(-2.0, 5.0, sigma=0.1)
    assert grid[0] <= -2.5


def test_broadening_keeps_weight_and_position():
    rng = np.random.default_rng(0)
    freqs = rng.uniform(0.5, 10, size=300)
    weights = rng.uniform(0, 1, size=(300, 2))
    grid = frequency_grid(freqs.min(), freqs.max())
    dos = broaden_modes(freqs, weights, grid, sigma=0.1)
    assert np.trapezoid(dos, grid, axis=1) == pytest.approx(weights.sum(axis=0), rel=1e-6)
    single = broaden_modes([3.02], [1.0], grid, sigma=0.2)
    mean = np.trapezoid(grid * single, grid)
    width = np.sqrt(np.trapezoid((grid - mean) ** 2 * single, grid))
    assert mean == pytest.approx(3.02, abs=1e-6)
    assert width == pytest.approx(0.2, rel=0.03)


def test_broadening_refuses_modes_off_grid():
    with pytest.raises(ValueError, match="outside the frequency grid"):
        broaden_modes([20.0], [1.0], frequency_grid(0, 5))


def test_overlap():
    grid = frequency_grid(0, 10)
    a = broaden_modes([3.0, 6.0], [1.0, 1.0], grid, 0.2)
    assert spectral_overlap(grid, a, grid, 2 * a) == pytest.approx(1.0)
    b = broaden_modes([8.0], [1.0], grid, 0.2)
    assert spectral_overlap(grid, a, grid, b) == pytest.approx(0.0, abs=1e-6)
    c = broaden_modes([3.0, 8.0], [1.0, 1.0], grid, 0.2)
    assert spectral_overlap(grid, a, grid, c) == pytest.approx(0.5, abs=1e-6)


# --------------------------------------------------------------------------- measured files

MEV_PER_THZ = 4.135667696
CM_PER_THZ = 33.35640951981521


def _measured():
    """A Si-like measured DOS in meV: acoustic and optic bands, counting noise, error bars."""
    rng = np.random.default_rng(7)
    energy = np.arange(1.0, 70.0, 0.5)
    dos = np.exp(-(((energy - 18) / 5) ** 2)) + 1.6 * np.exp(-(((energy - 58) / 3) ** 2))
    dos = dos + 0.01
    error = 0.02 * np.sqrt(dos) + 0.002
    return energy, dos + rng.normal(0, 0.3 * error), error


def _rows(sep, *columns, fmt="{:.6g}"):
    return "\n".join(sep.join(fmt.format(v) for v in row) for row in zip(*columns, strict=True))


def _write(tmp_path, name, text):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("sep", [" ", "   ", ",", ", ", ";", "\t"])
def test_plain_columns_need_the_unit_from_the_caller(tmp_path, sep):
    energy, dos, error = _measured()
    path = _write(tmp_path, "plain.dat", _rows(sep, energy, dos) + "\n")
    with pytest.raises(SpectrumError, match=r"does not say its frequency unit; pass unit="):
        read_spectrum_file(path)
    spectrum = read_spectrum_file(path, unit="meV")
    assert np.allclose(spectrum.frequencies, energy / MEV_PER_THZ, rtol=1e-5)
    assert np.allclose(spectrum.densities, np.clip(dos, 0, None), rtol=1e-5)
    assert spectrum.errors is None
    with_errors = _write(tmp_path, "errors.dat", _rows(sep, energy, dos, error))
    assert np.allclose(read_spectrum_file(with_errors, unit="meV").errors, error, rtol=1e-5)


@pytest.mark.parametrize(
    ("header", "scale", "sep"),
    [
        ("# Energy (meV)  g(E)  error", 1.0, "  "),
        ("# Energy (meV) g(E) error", 1.0, " "),
        ("# Sample: Si:Ge 2 %, T = 5 K\n# Ei = 120 meV\n# E [THz]  DOS  dDOS", MEV_PER_THZ, "  "),
        ("Frequency (THz),DOS,error", MEV_PER_THZ, ","),
        ("% wavenumber   intensity   sigma", 1 / (CM_PER_THZ / MEV_PER_THZ), "   "),
        ("! omega (cm^-1); dos; err", 1 / (CM_PER_THZ / MEV_PER_THZ), ";"),
        ("E_1/cm\tS\tE", 1 / (CM_PER_THZ / MEV_PER_THZ), "\t"),
        ("# units: meV\n# columns: energy, DOS, error", 1.0, " "),
        ("# DeltaE meV, Signal, Error", 1.0, ","),  # Mantid SaveAscii of a 1D MD cut
    ],
)
def test_unit_and_error_column_read_from_the_header(tmp_path, header, scale, sep):
    energy, dos, error = _measured()
    values = energy / scale  # the file's unit
    path = _write(tmp_path, "measured.txt", header + "\n" + _rows(sep, values, dos, error))
    spectrum = read_spectrum_file(path)
    assert np.allclose(spectrum.frequencies, energy / MEV_PER_THZ, rtol=1e-5)
    assert np.allclose(spectrum.errors, error, rtol=1e-5)


def test_headered_two_column_csv_and_unit_spellings(tmp_path):
    energy, dos, _ = _measured()
    wavenumber = energy * CM_PER_THZ / MEV_PER_THZ
    expected = energy / MEV_PER_THZ
    for header in ["Energy (cm-1),S(Q,E)", "Energy (1/cm),S", "Energy [cm⁻¹],S", "wavenumber,DOS"]:
        path = _write(tmp_path, "oclimax_like.csv", header + "\n" + _rows(",", wavenumber, dos))
        assert np.allclose(read_spectrum_file(path).frequencies, expected, rtol=1e-5), header
    plain = _write(tmp_path, "plain.csv", _rows(",", wavenumber, dos))
    for unit in ["cm-1", "cm^-1", "1/cm", "wavenumber", "CM-1"]:
        assert np.allclose(read_spectrum_file(plain, unit=unit).frequencies, expected, rtol=1e-5)
    micro = _write(
        tmp_path, "micro.csv", "\ufeffEnergy (µeV),DOS\n" + _rows(",", energy * 1e3, dos)
    )
    assert np.allclose(read_spectrum_file(micro).frequencies, expected, rtol=1e-5)
    latin = _write(
        tmp_path,
        "latin.csv",
        ("Energy (µeV),DOS\n" + _rows(",", energy * 1e3, dos)).encode("latin-1"),
    )
    assert np.allclose(read_spectrum_file(latin).frequencies, expected, rtol=1e-5)


def test_unknown_or_conflicting_units_are_refused(tmp_path):
    energy, dos, _ = _measured()
    data = _rows("  ", energy, dos)
    kelvin = _write(tmp_path, "kelvin.txt", "# Energy (K)  DOS\n" + data)
    with pytest.raises(SpectrumError, match=r"unit as 'K' \(line 1\), which is not a unit"):
        read_spectrum_file(kelvin)
    assert read_spectrum_file(kelvin, unit="meV").frequencies[0] == pytest.approx(1 / MEV_PER_THZ)
    stated = _write(tmp_path, "stated.txt", "# unit: furlongs\n" + data)
    with pytest.raises(SpectrumError, match="'furlongs'"):
        read_spectrum_file(stated)
    mev = _write(tmp_path, "mev.txt", "# Energy (meV)  DOS\n" + data)
    with pytest.raises(SpectrumError, match=r"states its frequency unit as .*meV.* unit='THz'"):
        read_spectrum_file(mev, unit="THz")
    assert read_spectrum_file(mev, unit="meV").frequencies[0] == pytest.approx(1 / MEV_PER_THZ)
    with pytest.raises(SpectrumError, match=r"Unknown frequency unit 'parsec'"):
        read_spectrum_file(mev, unit="parsec")


def test_mantid_saveascii(tmp_path):
    energy, dos, error = _measured()
    text = "# X , Y , E Distribution=false\n1\n" + _rows(",", energy, dos, error) + "\n"
    path = _write(tmp_path, "ComputeIncoherentDOS.csv", text)
    with pytest.raises(SpectrumError, match=r"Mantid's SaveAscii does not record the X unit"):
        read_spectrum_file(path)
    spectrum = read_spectrum_file(path, unit="meV")
    assert np.allclose(spectrum.frequencies, energy / MEV_PER_THZ, rtol=1e-5)
    assert np.allclose(spectrum.errors, error, rtol=1e-5)
    # sample logs above the header, the X-error column, no spectrum number
    logs = "Ei,120,meV\nrun_title,Si:Ge 2%,\n\n# X , Y , E , DX\n"
    dx = _write(tmp_path, "dx.csv", logs + _rows(",", energy, dos, error, 0 * error))
    assert np.allclose(read_spectrum_file(dx, unit="meV").errors, error, rtol=1e-5)
    two = _write(tmp_path, "two.csv", text + "2\n" + _rows(",", energy, dos, error))
    with pytest.raises(SpectrumError, match=r"holds 2 spectra .*SpectrumList"):
        read_spectrum_file(two, unit="meV")


def test_mantid_processed_nexus(tmp_path, mantid_nexus):
    energy, dos, error = _measured()
    # ComputeIncoherentDOS: energy transfer in meV, point data
    path = mantid_nexus("dos.nxs", energy, dos, error)
    spectrum = read_spectrum_file(path)
    assert np.allclose(spectrum.frequencies, energy / MEV_PER_THZ)
    assert np.allclose(spectrum.densities, dos) and np.allclose(spectrum.errors, error)
    with pytest.raises(SpectrumError, match=r"states its frequency unit as .*DeltaE.*unit='THz'"):
        read_spectrum_file(path, unit="THz")
    # histogram: bin edges become centres; the highest workspace of the file is read
    edges = np.append(energy - 0.25, energy[-1] + 0.25)
    hist = read_spectrum_file(mantid_nexus("hist.nxs", edges, dos, error, entries=2))
    assert np.allclose(hist.frequencies, energy / MEV_PER_THZ)
    assert np.allclose(hist.densities, 2 * dos)
    # wavenumbers (Abins), GHz, and a Label unit
    cm = read_spectrum_file(
        mantid_nexus("cm.nxs", energy * 8.0655, dos, units="DeltaE_inWavenumber")
    )
    assert np.allclose(cm.frequencies, energy * 8.0655 / CM_PER_THZ)
    ghz = read_spectrum_file(
        mantid_nexus("ghz.nxs", energy * 241.8, dos, units="DeltaE_inFrequency")
    )
    assert np.allclose(ghz.frequencies, energy * 0.2418)
    label = read_spectrum_file(mantid_nexus("label.nxs", energy, dos, units="Label", label="THz"))
    assert np.allclose(label.frequencies, energy)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"units": "TOF", "label": "microsecond"}, r"unit 'TOF', not an energy.*ConvertUnits"),
        ({"units": "Label", "label": "furlong"}, r"not a unit this reader knows"),
        ({"two_spectra": True}, r"holds 2 spectra .*SumSpectra"),
        ({"short_axis": True}, r"axis values for .* data values"),
    ],
    ids=["tof", "unknown-label", "two-spectra", "short-axis"],
)
def test_mantid_nexus_refused_with_the_problem_named(mantid_nexus, kwargs, match):
    energy, dos, _ = _measured()
    kwargs = dict(kwargs)
    values = np.vstack([dos, dos]) if kwargs.pop("two_spectra", False) else dos
    x = energy[:-3] if kwargs.pop("short_axis", False) else energy
    path = mantid_nexus("bad.nxs", x, values, **kwargs)
    with pytest.raises(SpectrumError, match=match):
        read_spectrum_file(path)


def test_other_hdf5_is_refused(tmp_path):
    import h5py

    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as handle:
        handle["entry/data"] = np.arange(10.0)
    with pytest.raises(SpectrumError, match=r"not a Mantid processed workspace.*SaveAscii"):
        read_spectrum_file(path)


def _dave_grp(energy, dos, error, unit="meV", groups=1):
    head = (
        f"# Number of Energy transfer values\n{len(energy)}\n# Number of q values\n{groups}\n"
        f"# Energy transfer ({unit}) values\n" + _rows("", energy) + "\n# q (1/Angstroms) values\n"
    )
    head += "\n".join(f"{0.5 + i}" for i in range(groups)) + "\n"
    body = "".join(f"# Group {i}\n" + _rows(" ", dos, error) + "\n" for i in range(groups))
    return head + body


def test_dave_grouped_ascii(tmp_path):
    energy, dos, error = _measured()
    path = _write(tmp_path, "dos.grp", _dave_grp(energy, dos, error))
    spectrum = read_spectrum_file(path)
    assert np.allclose(spectrum.frequencies, energy / MEV_PER_THZ, rtol=1e-5)
    assert np.allclose(spectrum.errors, error, rtol=1e-5)
    micro = _write(tmp_path, "micro.grp", _dave_grp(energy * 1e3, dos, error, unit="micro eV"))
    assert np.allclose(read_spectrum_file(micro).frequencies, spectrum.frequencies, rtol=1e-5)
    nounit = _write(tmp_path, "x.grp", _dave_grp(energy, dos, error).replace(" (meV)", ""))
    with pytest.raises(SpectrumError, match=r"does not say its frequency unit.*DAVE"):
        read_spectrum_file(nounit)
    many = _write(tmp_path, "many.grp", _dave_grp(energy, dos, error, groups=3))
    with pytest.raises(SpectrumError, match=r"DAVE grouped file with 3 groups"):
        read_spectrum_file(many)
    cut = _write(tmp_path, "cut.grp", "\n".join(_dave_grp(energy, dos, error).splitlines()[:-4]))
    with pytest.raises(SpectrumError, match=r"ends after 134 of the 138 values"):
        read_spectrum_file(cut)


def test_decimal_commas_descending_order_and_fortran_exponents(tmp_path):
    energy, dos, _ = _measured()
    expected = energy / MEV_PER_THZ
    comma = _write(
        tmp_path, "excel.csv", "Energie (meV);DOS\n" + _rows(";", energy, dos).replace(".", ",")
    )
    assert np.allclose(read_spectrum_file(comma).frequencies, expected, rtol=1e-5)
    high_to_low = _write(
        tmp_path, "down.txt", "# E (meV) DOS\n" + _rows(" ", energy[::-1], dos[::-1])
    )
    spectrum = read_spectrum_file(high_to_low)
    assert np.allclose(spectrum.frequencies, expected, rtol=1e-5)
    assert np.allclose(spectrum.densities, np.clip(dos, 0, None), rtol=1e-5)
    fortran = _write(
        tmp_path,
        "f.out",
        "! E (meV) DOS\n" + _rows("  ", energy, dos, fmt="{:.6E}").replace("E", "D"),
    )
    assert np.allclose(read_spectrum_file(fortran).frequencies, expected, rtol=1e-5)


def test_negative_densities_need_clip_negative(tmp_path):
    energy, dos, error = _measured()
    subtracted = dos - 0.05  # an over-subtracted background
    path = _write(
        tmp_path, "bg.txt", "# Energy (meV)  DOS  error\n" + _rows("  ", energy, subtracted, error)
    )
    with pytest.raises(SpectrumError, match=r"negative densities .*line \d+.*clip_negative=True"):
        read_spectrum_file(path)
    spectrum = read_spectrum_file(path, clip_negative=True)
    assert spectrum.densities.min() == 0
    assert np.allclose(spectrum.densities, np.clip(subtracted, 0, None), rtol=1e-5)
    assert np.allclose(spectrum.errors, error, rtol=1e-5)
    with pytest.raises(SpectrumError, match="negative densities"):  # arrays: refusal unchanged
        Spectrum(energy, subtracted, "meV")


def test_error_bars_are_validated():
    energy, dos, error = _measured()
    assert np.array_equal(Spectrum(energy, dos, "meV", errors=error).errors, error)
    with pytest.raises(SpectrumError, match="error bars for"):
        Spectrum(energy, dos, "meV", errors=error[:-1])
    with pytest.raises(SpectrumError, match="negative error bars"):
        Spectrum(energy, dos, "meV", errors=-error)
    with pytest.raises(SpectrumError, match="error bars contain NaN"):
        Spectrum(energy, dos, "meV", errors=np.where(energy > 30, np.nan, error))


def _bad_files():
    energy, dos, error = _measured()
    good = _rows("  ", energy, dos)
    head = "# Energy (meV)  DOS\n"
    return [
        ("empty.txt", "", r"is empty"),
        ("blank.txt", "\n  \n\n", r"is empty"),
        ("comments.txt", "# Energy (meV) DOS\n# no data saved\n", r"holds no numeric rows"),
        ("single.txt", "# Energy (meV)\n" + _rows("", energy), r"has a single column"),
        (
            "nan_text.txt",
            head + good.replace("\n", "\n12.25  n/a\n", 1),
            r"line 3: cannot read numbers from '12.25  n/a'",
        ),
        (
            "text_mid.txt",
            head + good.replace("\n", "\nbank 2\n", 1),
            r"line 3: text 'bank 2' in the middle of the data",
        ),
        ("few.txt", head + _rows("  ", energy[:3], dos[:3]), r"only 3 data rows .*at least 5"),
        ("ragged.txt", head + good + "\n70.0  0.1  0.01", r"line \d+: 3 columns, but line 2 has 2"),
        (
            "third.csv",
            "Energy (meV),total,fundamental\n" + _rows(",", energy, dos, dos),
            r"does not name the third an error \(it is 'fundamental'\)",
        ),
        ("five.txt", _rows(" ", energy, dos, error, dos, dos), r"has 5 columns"),
        (
            "run.nxs",
            b"\x89HDF\r\n\x1a\n\x00\x00\x00\x00" + bytes(range(256)) * 8,
            r"looks like HDF5 but cannot be opened",
        ),
        ("dos.xlsx", b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 8, r"Excel workbook"),
        (
            "dos.bin",
            np.column_stack([energy, dos]).tobytes(),
            r"is a binary file, not a text table",
        ),
    ]


@pytest.mark.parametrize(
    ("name", "content", "match"), _bad_files(), ids=[f[0] for f in _bad_files()]
)
def test_bad_files_are_refused_with_the_problem_named(tmp_path, name, content, match):
    path = _write(tmp_path, name, content)
    with pytest.raises(SpectrumError, match=match):
        read_spectrum_file(path, unit=None)


def test_sampling_corrected_adds_the_dopants_effect_to_the_reference():
    from defectnet_atomate.spectra import sampling_corrected

    f = np.arange(0, 10, 0.05)

    def peak(x0):
        return np.exp(-0.5 * ((f - x0) / 0.3) ** 2)

    reference = {"frequencies": f, "total": peak(5.0), "projected": {"Si": peak(5.0)}}
    cell = {"frequencies": f, "total": peak(5.5), "projected": {"Si": peak(5.5)}}
    doped = {
        "frequencies": f,
        "total": 0.9 * peak(5.5) + 0.1 * peak(3.0),
        "projected": {"Si": 0.9 * peak(5.5), "Ge": 0.1 * peak(3.0)},
    }
    out = sampling_corrected(doped, cell, reference)
    # reference + (doped - cell), clipped at zero
    expected = np.clip(peak(5.0) - 0.1 * peak(5.5) + 0.1 * peak(3.0), 0, None)
    assert np.allclose(np.interp(f, out["frequencies"], out["total"]), expected, atol=1e-9)
    assert np.allclose(np.interp(f, out["frequencies"], out["projected"]["Ge"]), 0.1 * peak(3.0))
    assert np.allclose(
        np.interp(f, out["frequencies"], out["projected"]["Si"]),
        np.clip(peak(5.0) - 0.1 * peak(5.5), 0, None),
    )
    same = sampling_corrected(cell, cell, reference)  # no dopant: the reference itself
    assert np.allclose(np.interp(f, same["frequencies"], same["total"]), peak(5.0), atol=1e-9)
