"""Scale-out: files scored in chunks (:mod:`.streaming`), Dask and Spark (:mod:`.distributed`).

Each feeds the one scoring core part by part; nothing here re-implements scoring.
"""
