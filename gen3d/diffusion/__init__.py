"""Gaussian diffusion (Point-E conventions): schedules, losses, and samplers kept apart from models."""
