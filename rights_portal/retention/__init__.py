"""Retention and erasure of recordings (R25): purge with holds, deletion records, legal holds."""
