"""Postino's benchmark runner: ``python -m bench`` (see ``docs/benchmarks.md``)."""
