from __future__ import annotations

import json

import numpy as np
import pytest
from monty.json import MontyDecoder, MontyEncoder

from defectnet_atomate.schemas import DefectPhononDoc


def test_document_round_trip(si_docs):
    doc = DefectPhononDoc.model_validate(si_docs[0])
    text = json.dumps(doc.model_dump(), cls=MontyEncoder)
    again = DefectPhononDoc.model_validate(json.loads(text, cls=MontyDecoder))
    assert again.config_id == doc.config_id
    assert again.structure == doc.structure
    assert again.pdos.total == doc.pdos.total


def test_units_in_every_field_description():
    from pydantic import BaseModel  # noqa: TC002

    def check(model: type[BaseModel]):
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"

    from defectnet_atomate import schemas

    for cls in (
        schemas.DefectPhononDoc,
        schemas.PhononDosData,
        schemas.PhononModes,
        schemas.CalculatorInfo,
        schemas.PhononSettings,
        schemas.RelaxationInfo,
        schemas.DopantRecord,
        schemas.HostInfo,
    ):
        check(cls)


def test_modes_rebroaden(si_docs):
    doc = DefectPhononDoc.model_validate(si_docs[2])
    wide = doc.modes.dos(sigma=0.3)
    assert wide.integral() == pytest.approx(3.0, rel=1e-6)
    assert np.asarray(wide.total).max() < np.asarray(doc.pdos.total).max()
    assert doc.pdos.to_phonon_dos().get_smeared_densities(0.1).shape == (len(doc.pdos.frequencies),)
    assert set(doc.pdos.element_dos()) == {"Ge", "Si", "Sn"}
