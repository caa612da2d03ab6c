"""The decision log: every answer written off the request path, for `recsys audit`."""
