"""Exploration for launches: Thompson sampling over new products, after the hard rules."""
