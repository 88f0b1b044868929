"""Jobs: the task functions scheduled work and delivery run, and the two ways to run them
(procrastinate workers on PostgreSQL, one in-process worker on SQLite)."""
