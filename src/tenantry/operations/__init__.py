"""What runs without a request: the lifecycle sweeper, the outbox, the demo seed."""
