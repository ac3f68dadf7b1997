"""What members see: status messages, rendering, component ids, pagination, command translations."""
