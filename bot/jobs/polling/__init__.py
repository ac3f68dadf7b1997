"""When to ask GeekAI about a task next: schedules, the planner learned per model, the book."""
