"""Training: the shared loop (EMA, resumable safetensors checkpoints, logs, plots) and one module per model."""
