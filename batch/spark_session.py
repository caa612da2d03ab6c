"""A Spark session for the batch jobs: local mode by default (`local[2]`), or a cluster URL."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[2]"


def spark_session(master: str = DEFAULT_MASTER, app: str = "bank-recsys") -> SparkSession:
    """A session on `master`, its Python workers on this interpreter, timestamps in UTC."""
    from pyspark.sql import SparkSession

    # the workers must import this project and its pinned libraries: this venv's interpreter
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", os.environ.get("RECSYS_SPARK_DRIVER_MEMORY", "2g"))
        .getOrCreate()
    )
