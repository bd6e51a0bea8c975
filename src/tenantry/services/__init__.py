"""Business rules as plain functions over a request ``Context``: no HTTP in here."""
