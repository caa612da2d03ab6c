"""Recommend, SimilarProducts and RecordEvents: request checks, the service, its answers."""
