"""Every sentence the bot writes, one JSON file per locale (locales/), and the lookup."""
