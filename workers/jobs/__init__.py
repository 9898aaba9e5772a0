"""Worker jobs: each takes a session factory and the settings, and owns its transactions."""
