"""Point-E-layout networks: point diffusion transformers, the upsampler and the SDF decoder."""
