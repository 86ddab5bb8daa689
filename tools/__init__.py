"""Developer scripts behind the Makefile (not shipped)."""
