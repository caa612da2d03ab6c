"""API keys and roles: pure rules (no store, no gRPC) that the server and the CLI share."""
