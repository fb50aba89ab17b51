"""Model loading, presets, the generation engine and extractive summarizers (to come)."""
