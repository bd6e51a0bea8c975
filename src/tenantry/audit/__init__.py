"""Evidence: the per-tenant hash chain every change is recorded in (``chain``, below the
access decision, which records its refusals there) and the audit-log queries (``log``)."""
