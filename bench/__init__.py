"""Benchmarks at institution scale (DESIGN §4); run as ``python -m bench.<name>``, see README.md.

Not part of the test run: pytest only collects ``tests/``.
"""
