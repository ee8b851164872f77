"""Real loopback servers shaped like the delivery providers (Twilio REST, SMTP) and delivery test data."""
