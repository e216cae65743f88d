"""On-call in the server: the live configuration, incidents, notifications, escalation."""
