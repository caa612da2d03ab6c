"""A simulated bank that answers back: pure logic behind `recsys simulate`.

visits.py plans who visits which channel when; bank.py turns what a server showed into the
customer's impressions, clicks and purchases by the generator's ground truth
(recsys.data.generate.response) and keeps their holdings; tally.py sums the outcome by
experiment arm. The gRPC calls live at the edge, in recsys_cli/simulate_run.py.
"""
