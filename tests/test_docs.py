"""The documentation site builds in strict mode, with the API reference rendered from docstrings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# the dev extra installs these; without them (a bare install) the test cannot run
pytest.importorskip("mkdocs")
pytest.importorskip("material")
pytest.importorskip("mkdocstrings")
pytest.importorskip("mkdocstrings_handlers.python")

REFERENCE_MODULES = [
    "doping",
    "spectra",
    "schemas",
    "flows",
    "jobs",
    "phonons.calculators",
    "phonons.dos",
    "phonons.direct",
    "phonons.embedding",
    "phonons.lanczos",
    "signatures",
    "builders",
    "stores",
    "batch",
    "dataset",
    "ml.quantifier",
    "ml.featurize",
    "ml.network",
    "ml.prediction",
    "ml.training",
    "ml.augment",
    "measurement",
    "hosts",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    site_dir = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(site_dir),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, (
        f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    )
    return site_dir


def _page(site: Path, name: str) -> str:
    page = site / name / "index.html"
    assert page.is_file(), f"{page} was not built"
    return page.read_text()


def test_every_reference_page_renders_its_module(site):
    for module in REFERENCE_MODULES:
        html = _page(site, f"reference/{module.replace('.', '-')}")
        # mkdocstrings gives each rendered object an anchor with its full path
        assert f'id="defectnet_atomate.{module}.' in html, f"{module}: no object rendered"


def test_key_api_objects_are_documented(site):
    doping = _page(site, "reference/doping")
    assert 'id="defectnet_atomate.doping.make_doped_supercell"' in doping
    assert "make_doped_supercell" in doping
    quantifier = _page(site, "reference/ml-quantifier")
    assert 'id="defectnet_atomate.ml.quantifier.DefectQuantifier"' in quantifier
    for method in ("from_pretrained", "save_pretrained", "predict", "fit", "evaluate", "fine_tune"):
        assert f'id="defectnet_atomate.ml.quantifier.DefectQuantifier.{method}"' in quantifier
    # numpy docstring sections are parsed into tables, not shown as raw text
    assert "----------" not in re.sub(r"<[^>]+>", "", quantifier)


def test_sphinx_roles_become_cross_references(site):
    stores = _page(site, "reference/stores")
    assert ":func:" not in stores and ":class:" not in stores
    assert 'href="../schemas/#defectnet_atomate.schemas.DefectPhononDoc"' in stores


def test_guides_and_generated_pages_are_in_the_site(site):
    for page in (
        "installation",
        "quickstart",
        "concepts",
        "guides/atomate2",
        "guides/stores",
        "guides/training",
        "guides/measured",
        "guides/signatures",
        "reference",
        "model-card",
        "benchmarks",
    ):
        _page(site, page)
