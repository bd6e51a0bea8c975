"""A tenant's own directory: the organisation, users, groups, admin-role assignments,
domains and devices."""
