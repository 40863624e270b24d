"""PyTorch side of advlandscape: data, attacks, training, curvature, landscapes, experiments."""
