"""Photo handling: validation, derivatives and blob storage."""
