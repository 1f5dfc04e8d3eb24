"""Data paths: input that is not a dense in-memory array.

- ``_sparse``: SciPy sparse input, densified a batch at a time;
- ``_dask`` / ``_dask_partitions``: data larger than memory on a Dask cluster.
"""
