"""The performance benchmark: synthetic estates, the run against peers (see bench/run.py)."""
