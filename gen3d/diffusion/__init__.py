"""Gaussian diffusion (Point-E conventions): schedules, losses, and samplers kept apart from models;
``clouds`` runs them with a model to turn text vectors into point clouds."""
