"""Experiments in the server: the running ones (book), each arm's model (arms), the router
that picks a request's arm, the management service and its gRPC servicer."""
