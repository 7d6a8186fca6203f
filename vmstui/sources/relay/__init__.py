"""The relay: a console reading what `vmstui relay` publishes on RabbitMQ (issue 16)."""
