"""Ranking beyond the model's score: calibrated probabilities and arbitration by value."""
