"""Audit: the append-only, hash-chained trail of everything that happens to a case (R23, R24)."""
