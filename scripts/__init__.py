"""Benchmarks and measurements of og-indexer, run from the checkout as modules: `python -m scripts.bench`."""
