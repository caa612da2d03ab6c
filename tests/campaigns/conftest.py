"""The engine tests' generated bank and fitted engine, shared by the campaign tests."""

from tests.engine.conftest import as_of, bank, engine, held, settings, snapshot  # noqa: F401
