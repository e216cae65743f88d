"""The error-budget engine: PromQL it sends (queries), maths on the answers (numbers), refresh."""
