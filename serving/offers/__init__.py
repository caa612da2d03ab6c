"""Marketing offers: managed over gRPC, polled by each process, placed into answers."""
