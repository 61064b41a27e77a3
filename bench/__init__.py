"""Benchmarks at institution scale (docs/rules.md#targets); run as ``python -m bench.<name>``.

See README.md.

Not part of the test run: pytest only collects ``tests/``.
"""
