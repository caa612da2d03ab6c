"""Point MLflow at the configured tracking/registry store (SQLite under `home` by default)."""

from __future__ import annotations

import logging
import os

import mlflow

from recsys.settings import Settings

log = logging.getLogger(__name__)
EXPERIMENT = "bank-recsys"
DATABASE_SCHEMES = frozenset({"sqlite", "postgresql", "mysql", "mssql"})

# MLflow's own chatter (alembic upgrades, "Created version") is noise on a CLI.
MLFLOW_CHATTER = ("alembic", "mlflow.store.db.utils", "mlflow.tracking._model_registry.client")


def quiet_mlflow_logs() -> None:
    """Log only warnings and errors from MLflow's store set-up and registry client."""
    for name in MLFLOW_CHATTER:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_mlflow(settings: Settings) -> str:
    """Set MLflow's tracking and registry URI from settings (its chatter quieted); returns
    the URI in use."""
    quiet_mlflow_logs()
    uri = settings.resolved_tracking_uri
    if uri.startswith("sqlite:///"):
        settings.home.mkdir(parents=True, exist_ok=True)
    # Subprocesses (mlflow models serve, pyfunc env) must see the same store.
    os.environ["MLFLOW_TRACKING_URI"] = uri
    # The artifact download bar would interleave with the CLI's own progress display.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def experiment_id(settings: Settings, name: str = EXPERIMENT) -> str:
    """The id of the experiment, created with a local artifact root when it does not exist."""
    client = mlflow.MlflowClient()
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    scheme = settings.resolved_tracking_uri.partition(":")[0].partition("+")[0]
    if scheme in DATABASE_SCHEMES:  # "postgresql+psycopg2://..." is a database store too
        # Database stores have no default artifact root of their own; keep artifacts local.
        settings.artifact_root.mkdir(parents=True, exist_ok=True)
        location = settings.artifact_root.as_uri()
    log.info("creating MLflow experiment %s (artifacts: %s)", name, location or "server default")
    return client.create_experiment(name, artifact_location=location)
