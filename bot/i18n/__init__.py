"""Every sentence the bot writes, by locale."""
