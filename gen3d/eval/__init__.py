"""Evaluation: reconstruction metrics (recon.py) and model metrics."""
