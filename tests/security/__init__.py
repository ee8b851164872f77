"""Security tests: hostile input, access control with its audit, personal data, Kafka security settings."""
