"""Operations: the `check` command, the health/metrics HTTP endpoint, metrics and log context."""
