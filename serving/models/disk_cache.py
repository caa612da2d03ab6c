"""The last good models on local disk, so the server starts while the registry is unreachable.

Layout: `<root>/v<version>/{bundle/, info.json}`. An entry appears only by renaming a complete
folder into place, so a reader (another server process, a restart after a crash) never sees
half an entry. Staging folders live under `<root>/.tmp` on the same filesystem as the entries.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
INFO = "info.json"
BUNDLE = "bundle"
KEEP = 2
# A staging folder this old belongs to a process that died mid-download.
STALE_STAGING_SECONDS = 3600.0


@dataclass(frozen=True)
class CacheEntry:
    """One cached model: its bundle folder and what the registry said about it."""

    folder: Path
    info: dict[str, Any]

    @property
    def bundle(self) -> Path:
        """The Engine bundle folder."""
        return self.folder / BUNDLE


class ModelCache:
    """Keeps the last `keep` good models' bundles with their registry info."""

    def __init__(self, root: Path, keep: int = KEEP) -> None:
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        self.root = root
        self.keep = keep

    @property
    def _staging_root(self) -> Path:
        return self.root / ".tmp"

    def staging(self) -> Path:
        """A fresh, empty folder on the cache's filesystem to download into."""
        self._sweep_stale_staging()
        folder = self._staging_root / f"{os.getpid()}-{uuid.uuid4().hex}"
        folder.mkdir(parents=True)
        return folder

    def put(self, version: str, bundle: Path, info: dict[str, Any]) -> CacheEntry:
        """Move `bundle` (under `staging()`) into the cache as `version`; prune old entries."""
        entry_tmp = self._staging_root / f"entry-{uuid.uuid4().hex}"
        entry_tmp.mkdir(parents=True)
        bundle.rename(entry_tmp / BUNDLE)
        doc = {**info, "version": str(version), "cached_at": datetime.now(UTC).isoformat()}
        (entry_tmp / INFO).write_text(json.dumps(doc, indent=2, sort_keys=True))
        target = self.root / f"v{int(version)}"
        if target.exists():
            # Another process (or an earlier run) cached this version: replace it in two renames.
            trash = self._staging_root / f"trash-{uuid.uuid4().hex}"
            target.rename(trash)
            shutil.rmtree(trash, ignore_errors=True)
        try:
            entry_tmp.rename(target)
        except OSError:
            if not target.is_dir():
                raise
            # Another server process cached the same version between our check and rename.
            shutil.rmtree(entry_tmp, ignore_errors=True)
        self.prune()
        return CacheEntry(target, doc)

    def entries(self) -> list[CacheEntry]:
        """Complete entries, newest first; an entry without a readable info.json is skipped."""
        found = []
        for folder in self._entry_folders():
            try:
                info = json.loads((folder / INFO).read_text())
                found.append(CacheEntry(folder, info))
            except (OSError, ValueError) as exc:
                log.warning("ignoring cache entry %s: unreadable %s (%s)", folder, INFO, exc)
        return sorted(found, key=lambda e: str(e.info.get("cached_at", "")), reverse=True)

    def prune(self) -> None:
        """Delete all but the newest `keep` entries."""
        for entry in self.entries()[self.keep :]:
            log.info("dropping cached model %s", entry.folder.name)
            shutil.rmtree(entry.folder, ignore_errors=True)

    def _entry_folders(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [p for p in self.root.iterdir() if p.is_dir() and p.name.startswith("v")]

    def _sweep_stale_staging(self) -> None:
        if not self._staging_root.is_dir():
            return
        cutoff = time.time() - STALE_STAGING_SECONDS
        for folder in self._staging_root.iterdir():
            try:
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                continue  # another process removed it first
