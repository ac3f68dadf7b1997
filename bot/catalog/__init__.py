"""What each GeekAI image model accepts (pure): catalog, validation, requests, sizes, suggest."""
