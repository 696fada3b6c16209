"""The end-to-end benchmark: ``python -m benchmarks`` (see __main__)."""
