"""Service health and service requests."""
