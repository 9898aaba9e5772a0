"""fieldsync: the composition root (command line, process wiring)."""
