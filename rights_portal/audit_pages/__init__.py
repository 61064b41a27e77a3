"""The DPO's pages over the audit trail: filters, keyset pages and the CSV export (R24).

Apart from the audit core (:mod:`rights_portal.audit`: the events, ``record``, the verifier and
the anchors), which knows no case and no user: these pages read both to resolve names.
"""
