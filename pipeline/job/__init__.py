"""Layer 3: the batch job (options, job folder, cache, manifest, merge, executors)."""
