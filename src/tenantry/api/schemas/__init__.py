"""Pydantic v2 shapes of the public API (docs/architecture.md §5), one module per domain.
Fields are a contract: add, never change."""
