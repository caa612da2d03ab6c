"""Batch jobs: outbound campaigns (one process, or Spark) and Spark data preparation, on the
same request pipeline as the server."""
