"""Compatibility shims for third-party packages that do not load cleanly in every environment."""
