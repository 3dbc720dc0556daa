"""Package settings, read from ``DEFECTNET_*`` environment variables.

Examples
--------
``DEFECTNET_DATA_DIR=/scratch/defectnet`` moves the embedded store;
``DEFECTNET_STORE_URI=mongodb://host:27017/defectnet`` makes
:func:`defectnet_atomate.stores.default_store` return a MongoDB store.
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DefectnetSettings(BaseSettings):
    """Settings of defectnet-atomate (environment prefix ``DEFECTNET_``)."""

    model_config = SettingsConfigDict(env_prefix="DEFECTNET_", extra="ignore")

    DATA_DIR: Path = Field(
        default_factory=lambda: Path(user_data_dir("defectnet-atomate")),
        description="Folder of the embedded on-disk stores (documents, job outputs, caches).",
    )
    STORE_URI: str | None = Field(
        None,
        description=(
            "Where documents go: None for the embedded store in DATA_DIR, a folder path, "
            "or a mongodb:// URI."
        ),
    )
    FORCE_FIELD: str = Field(
        "CHGNet", description="Default universal potential (atomate2 MLFF name)."
    )


SETTINGS = DefectnetSettings()
