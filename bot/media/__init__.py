"""Pictures: download (capped, public addresses only), decode and fit, delivery files, masks."""
