"""Per-server settings: one table, one service, kept in memory and refreshed."""
