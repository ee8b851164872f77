"""`drive-alerts bench`: an operator's capacity check of the broker, the streams and delivery on synthetic data."""
