"""Process glue: settings, logging, Kafka clients, the embedded broker and the CLI."""
