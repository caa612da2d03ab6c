"""Marketing offers: what an offer is, whom it targets, when it runs, how it enters a top-k."""
