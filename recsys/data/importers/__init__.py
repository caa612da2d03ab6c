"""Importers: public bank data sets turned into the canonical dataset, with a report.

Each `import_<name>(src)` reads a source folder (see ../shared/datasets/README.md) and returns
an ImportResult: the BankData and an ImportReport that accounts for every source item (kept,
skipped with a reason, or kept under a documented assumption). A folder that lacks the
expected files or columns raises ImportSourceError.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

from recsys.data.importers.berka import import_berka
from recsys.data.importers.report import Adjusted, ImportReport, ImportResult, Skipped
from recsys.data.importers.santander import import_santander
from recsys.data.importers.source import ImportSourceError
from recsys.data.importers.zimnat import import_zimnat

IMPORTERS: Final[dict[str, Callable[[Path], ImportResult]]] = {
    "santander": import_santander,
    "zimnat": import_zimnat,
    "berka": import_berka,
}

__all__ = [
    "IMPORTERS",
    "Adjusted",
    "ImportReport",
    "ImportResult",
    "ImportSourceError",
    "Skipped",
    "import_berka",
    "import_santander",
    "import_zimnat",
]
