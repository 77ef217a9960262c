"""The live supervisor dashboard: metric definitions, the in-memory live model, its service."""
