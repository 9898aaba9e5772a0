"""The fleet simulator behind ``fieldsync simulate`` (issue 7)."""
