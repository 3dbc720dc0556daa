"""Shared by the benchmark scripts."""

from __future__ import annotations

import json
from pathlib import Path


def emit(result: dict, path: str | Path | None) -> dict:
    """Write ``result`` to ``path`` (if given) and print it as the last line (JSON)."""
    if path:
        Path(path).write_text(json.dumps(result, indent=1))
    print(json.dumps(result))
    return result
