"""Operational stores behind small interfaces; the backend is chosen by URL (sqlite, postgresql)."""
