from __future__ import annotations

import pytest

from defectnet_atomate.hosts import find_host, load_hosts


def test_load_host_subset(test_dir):
    hosts = load_hosts(test_dir / "hosts-subset.jsonl.gz", semiconductors_only=False)
    assert {h.host_id for h in hosts} == {"mp-149", "mp-2133", "mp-13032"}
    si = find_host("mp-149", test_dir / "hosts-subset.jsonl.gz")
    assert si.structure.composition.reduced_formula == "Si"
    assert len(si.structure) == 2  # primitive cell
    semis = load_hosts(test_dir / "hosts-subset.jsonl.gz", semiconductors_only=True)
    assert all(h.semiconductor for h in semis)


def test_missing_library_and_host(tmp_path, test_dir):
    with pytest.raises(FileNotFoundError, match=r"jsonl\.gz"):
        load_hosts(tmp_path / "nope.jsonl.gz")
    with pytest.raises(KeyError, match="No host"):
        find_host("mp-0", test_dir / "hosts-subset.jsonl.gz")
