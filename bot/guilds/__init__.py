"""Per-server settings and who may change them."""
