"""Offline pipelines and the MLflow side: tracking, registry, promotion, the pyfunc model."""
