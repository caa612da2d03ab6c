"""Online experiments: arms and shares, sticky assignment, and the statistics of a report.

Pure: values and arrays in, values out. The store (recsys.stores.sql_experiments), the
server (serving.experiments) and the CLI (recsys_cli.experiments) do the I/O.
"""
