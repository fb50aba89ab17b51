"""Layer 1: the record and what every stage shares (steps, readers, writers, errors)."""
