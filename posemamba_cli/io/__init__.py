"""File-level helpers shared by every writer: atomic writes."""
