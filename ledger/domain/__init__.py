"""The domain: terms, rules and aggregates. Imports nothing but eventsourcing and the stdlib."""
