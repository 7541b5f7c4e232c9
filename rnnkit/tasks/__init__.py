"""End-to-end tasks, one per application."""
