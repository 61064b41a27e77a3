"""The staff area: the case queue and the case page for handlers, exam boards and the DPO."""
