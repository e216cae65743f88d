"""The sloctl server: SLO registry, error-budget engine, on-call routing and evidence."""
