"""Data contracts: schemas, loading with validation, holdings, interaction matrices."""
