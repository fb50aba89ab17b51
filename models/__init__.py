"""Models: loading (hub id or local path), presets, the generation engine, backends
(torch, ctranslate2), extractive summarizers, and tiny models for tests and benchmarks."""
