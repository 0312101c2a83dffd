"""v-prediction: the same diffusion maths with the model predicting v = sqrt(abar)*eps - sqrt(1-abar)*x0."""

import pytest
import torch

from gen3d.diffusion.gaussian import GaussianDiffusion
from gen3d.diffusion.samplers import ddim_steps, run, x0_predictor


def test_v_target_round_trips_to_eps_and_x0():
    d = GaussianDiffusion.named("cosine", 1024, prediction="v")
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(4, 6, 32, generator=g) * 2 - 1
    noise = torch.randn(4, 6, 32, generator=g)
    t = torch.tensor([0, 300, 900, 1023])
    x_t = d.q_sample(x0, t, noise)
    eps, x0_back = d.split_prediction(d.target(x0, t, noise), x_t, t)
    torch.testing.assert_close(eps, noise, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(x0_back, x0, atol=1e-4, rtol=1e-4)
    # at the last step x0 comes straight from v (no 1/sqrt(abar) amplification of the prediction's error)
    _, x0_noisy = d.split_prediction(d.target(x0, t, noise) + 0.01, x_t, t)
    assert (x0_noisy - x0)[3].abs().max() < 0.011


def test_an_oracle_v_model_has_zero_loss_and_ddim_returns_its_data():
    d = GaussianDiffusion.named("cosine", 64, prediction="v")
    target_x0 = torch.linspace(-0.8, 0.8, 6 * 16).reshape(1, 6, 16)

    def oracle(x_t, t):  # the exact v for a dataset of one point cloud, plus a constant variance output
        a = torch.tensor(d.sqrt_alphas_cumprod, dtype=torch.float32)[t][:, None, None]
        s = torch.tensor(d.sqrt_one_minus_alphas_cumprod, dtype=torch.float32)[t][:, None, None]
        eps = (x_t - a * target_x0) / s
        return torch.cat([a * eps - s * target_x0, torch.zeros_like(x_t)], dim=1)

    losses = d.training_losses(oracle, target_x0.expand(3, -1, -1), torch.tensor([1, 30, 63]))
    assert losses["mse"].max() < 1e-8
    f = x0_predictor(oracle, d, {}, None, clip_denoised=True)
    out = run(ddim_steps(f, d, torch.randn(1, 6, 16, generator=torch.Generator().manual_seed(1)), steps=8))
    torch.testing.assert_close(out, target_x0, atol=1e-4, rtol=1e-4)


def test_unknown_prediction_is_refused():
    with pytest.raises(ValueError, match="prediction"):
        GaussianDiffusion.named("cosine", 16, prediction="x1")
