"""newsum's pipeline: records, readers and writers, cleaning, the CLI."""

__version__ = "0.1.0"
