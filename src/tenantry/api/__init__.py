"""The public HTTP API (DESIGN §5): thin routers over the service functions."""
