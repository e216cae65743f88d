"""On-call: configuration, schedules (who is on call when) and alert routing."""
