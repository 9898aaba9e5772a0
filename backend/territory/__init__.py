"""Territory: which terminals each field user visits (their route)."""
