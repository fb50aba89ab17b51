"""newsum's pipeline: core (records, readers, writers), cleaning, the batch job, the CLI
and the Python API (newsum.pipeline.api)."""

__version__ = "0.1.0"
