"""consumers.acks.acknowledge"""
