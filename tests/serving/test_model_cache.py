"""The disk cache of good models: atomic entries, newest first, the last two kept."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from serving.models.disk_cache import INFO, STALE_STAGING_SECONDS, ModelCache


def staged_bundle(cache: ModelCache, marker: str) -> Path:
    """A bundle folder (one file saying `marker`) under a fresh staging folder."""
    bundle = cache.staging() / "downloaded"
    bundle.mkdir()
    (bundle / "manifest.json").write_text(marker)
    return bundle


def test_put_moves_the_bundle_in_and_keeps_the_newest_two(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path / "cache", keep=2)
    assert cache.entries() == []
    for version in ("3", "1", "7"):  # the order of arrival, not the version number, counts
        bundle = staged_bundle(cache, f"v{version}")
        entry = cache.put(version, bundle, {"family": "als", "metrics": {"ndcg_at_5": 0.1}})
        assert not bundle.exists() and (entry.bundle / "manifest.json").read_text() == f"v{version}"
    entries = cache.entries()
    assert [e.folder.name for e in entries] == ["v7", "v1"]
    assert entries[0].info["version"] == "7" and entries[0].info["family"] == "als"
    assert entries[0].info["metrics"] == {"ndcg_at_5": 0.1}
    assert sorted(p.name for p in cache.root.iterdir()) == [".tmp", "v1", "v7"]


def test_caching_a_version_again_replaces_it(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path / "cache")
    cache.put("4", staged_bundle(cache, "old"), {})
    cache.put("4", staged_bundle(cache, "new"), {})
    (entry,) = cache.entries()
    assert (entry.bundle / "manifest.json").read_text() == "new"
    leftovers = [p.name for p in (cache.root / ".tmp").iterdir() if not p.name[0].isdigit()]
    assert leftovers == []  # entry and trash folders are gone; only staging folders remain


def test_entries_without_readable_info_are_skipped(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path / "cache")
    cache.put("1", staged_bundle(cache, "ok"), {})
    broken = cache.root / "v2"
    broken.mkdir()
    (broken / INFO).write_text("{")
    (cache.root / "v3").mkdir()
    assert [e.folder.name for e in cache.entries()] == ["v1"]
    with pytest.raises(ValueError, match="keep"):
        ModelCache(tmp_path, keep=0)


def test_stale_staging_folders_are_swept_fresh_ones_kept(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path / "cache")
    stale, fresh = cache.staging(), cache.staging()
    old = time.time() - STALE_STAGING_SECONDS - 10
    os.utime(stale, (old, old))
    mine = cache.staging()
    assert not stale.exists() and fresh.exists() and mine.exists()
