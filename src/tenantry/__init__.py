"""Tenantry: multi-tenant administration with partner delegated administration."""

__version__ = "0.1.0"
