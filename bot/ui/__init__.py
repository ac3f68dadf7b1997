"""What members see and touch: status messages, components, positions, access, translations."""
