"""Large exports built in the background: the audit trail as CSV and the DPO's report as PDF.

Asking for one stores an :class:`~.models.Export` row (who, what, with which filters) and queues
the worker's task after the commit; the task writes the file into the store's ``exports`` area
and marks it ready; the person who asked downloads it from their exports page while it is kept
(``EXPORT_RETENTION_HOURS``), after which the housekeeping deletes the file. A slow download or
a long build then never ties up the pages (issue 23). Who may ask for which kind is decided in
:mod:`rights_portal.permissions` (``can_export``); asking and every download are on the audit
trail (R24).
"""
