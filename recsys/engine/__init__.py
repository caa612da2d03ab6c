"""The scoring pipeline shared by evaluation, the MLflow pyfunc and the gRPC server.

customer state (snapshot + overrides) -> model scores (fallback for empty histories)
-> hard rules (masks) -> top-k -> reasons.
"""
