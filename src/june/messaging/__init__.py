"""NATS JetStream: the durable queue and the shared key-value state of June's services."""
