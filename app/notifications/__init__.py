"""Notifications: an outbox written in the causing transaction, delivered by email and read
in the in-app inbox."""
