"""What every domain uses and nothing domain-specific: the request context, errors, the
clock, configuration, the database session, keyset pagination. Imports no other package of
Tenantry but ``models`` (docs/architecture.md §1)."""
