"""gRPC transport: the server, interceptors, auth, TLS, health, metrics, status codes."""
