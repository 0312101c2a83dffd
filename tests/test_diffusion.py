"""Behaviour of the diffusion maths and samplers beyond the golden vectors."""

import threading

import numpy as np
import pytest
import torch

from gen3d.diffusion.gaussian import GaussianDiffusion
from gen3d.diffusion.samplers import Cancelled, ddim_steps, karras_heun_steps, run, x0_predictor


@pytest.fixture(scope="module")
def diffusion():
    return GaussianDiffusion.named("cosine", 1024)


def oracle(x0_true: torch.Tensor, diffusion: GaussianDiffusion):
    """A 'model' that knows the clean sample: returns the exact epsilon (and v = 0)."""

    def model(x_t, t, **_):
        eps = diffusion.predict_eps(x_t, t, x0_true.expand_as(x_t))
        return torch.cat([eps, torch.zeros_like(eps)], dim=1)

    return model


def test_q_sample_and_x0_roundtrip(diffusion):
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(4, 6, 32, generator=g) * 2 - 1
    noise = torch.randn(4, 6, 32, generator=g)
    t = torch.tensor([0, 10, 500, 900])  # float32 loses x0 near t = T
    x_t = diffusion.q_sample(x0, t, noise)
    torch.testing.assert_close(diffusion.predict_x0(x_t, t, noise), x0, atol=2e-3, rtol=1e-3)
    # at the last step almost all signal is gone
    assert diffusion.alphas_cumprod[-1] < 1e-4


def test_training_loss_is_zero_for_the_true_noise_and_positive_otherwise(diffusion):
    g = torch.Generator().manual_seed(1)
    x0 = torch.rand(3, 6, 16, generator=g) * 2 - 1
    noise = torch.randn(3, 6, 16, generator=g)
    t = torch.tensor([0, 100, 900])

    def perfect(x_t, t, **_):
        return torch.cat([noise, torch.zeros_like(noise)], 1)

    def zero(x_t, t, **_):
        return torch.zeros(3, 12, 16, requires_grad=True)

    good = diffusion.training_losses(perfect, x0, t, noise=noise)
    bad = diffusion.training_losses(zero, x0, t, noise=noise)
    assert torch.all(good["mse"] == 0)
    assert torch.all(bad["mse"] > 0.5)
    assert torch.isfinite(good["vb"]).all() and torch.isfinite(bad["vb"]).all()
    assert torch.all(bad["loss"] == bad["mse"] + bad["vb"])


def test_vb_term_trains_only_the_variance_head(diffusion):
    x0 = torch.zeros(2, 6, 8)
    out = torch.zeros(2, 12, 8, requires_grad=True)
    losses = diffusion.training_losses(lambda x, t: out, x0, torch.tensor([50, 600]))
    losses["vb"].sum().backward()
    assert out.grad[:, :6].abs().sum() == 0  # epsilon channels get no gradient from vb
    assert out.grad[:, 6:].abs().sum() > 0


@pytest.mark.parametrize("sampler", ["heun", "ddim"])
def test_samplers_recover_the_oracle_sample(diffusion, sampler):
    g = torch.Generator().manual_seed(2)
    target = torch.rand(1, 6, 20, generator=g) * 1.6 - 0.8
    f = x0_predictor(oracle(target, diffusion), diffusion, {}, clip_denoised=True)
    noise = torch.randn(2, 6, 20, generator=g)
    if sampler == "heun":
        out = run(karras_heun_steps(f, diffusion, noise * 120.0, steps=16, s_churn=3.0, generator=g))
    else:
        out = run(ddim_steps(f, diffusion, noise, steps=20))
    torch.testing.assert_close(out, target.expand_as(out), atol=5e-3, rtol=0)


def test_guidance_extrapolates_in_x0_space(diffusion):
    cond_x0 = torch.full((1, 6, 4), 0.2)
    uncond_x0 = torch.full((1, 6, 4), 0.1)

    def model(x_t, t, flag):
        x0 = torch.where(flag[:, None, None] > 0, cond_x0, uncond_x0).expand_as(x_t)
        eps = diffusion.predict_eps(x_t, t, x0)
        return torch.cat([eps, torch.zeros_like(eps)], 1)

    f = x0_predictor(model, diffusion, {"flag": torch.ones(1)}, {"flag": torch.zeros(1)}, guidance_scale=3.0,
                     clip_denoised=False)
    x0 = f(torch.randn(1, 6, 4), torch.tensor([300]))
    torch.testing.assert_close(x0, torch.full((1, 6, 4), 0.1 + 3.0 * 0.1), atol=1e-4, rtol=1e-4)


def test_guidance_interval_guides_only_inside_and_skips_the_unconditional_rows_outside(diffusion):
    cond_x0, uncond_x0 = torch.full((1, 6, 4), 0.2), torch.full((1, 6, 4), 0.1)
    rows = []

    def model(x_t, t, flag):
        rows.append(len(x_t))
        x0 = torch.where(flag[:, None, None] > 0, cond_x0, uncond_x0).expand_as(x_t)
        return torch.cat([diffusion.predict_eps(x_t, t, x0), torch.zeros_like(x_t)], 1)

    f = x0_predictor(model, diffusion, {"flag": torch.ones(1)}, {"flag": torch.zeros(1)}, guidance_scale=3.0,
                     clip_denoised=False, guidance_interval=(0.25, 0.75))
    n = diffusion.num_timesteps
    for t, expect, batch in ((n // 2, 0.4, 2), (n // 8, 0.2, 1), (n - 1, 0.2, 1), (n // 4, 0.2, 1)):
        rows.clear()
        x0 = f(torch.randn(1, 6, 4), torch.tensor([t]))
        torch.testing.assert_close(x0, torch.full((1, 6, 4), expect), atol=1e-2, rtol=0)  # eps -> x0 near T
        assert rows == [batch]  # outside the interval the unconditional rows are not run
    with pytest.raises(ValueError, match="empty"):
        x0_predictor(model, diffusion, {"flag": torch.ones(1)}, {"flag": torch.zeros(1)}, guidance_scale=3.0,
                     guidance_interval=(0.5, 0.5))


@pytest.mark.parametrize("sampler", ["heun", "ddim"])
def test_progress_and_cancel_between_steps(diffusion, sampler):
    target = torch.zeros(1, 6, 8)
    f = x0_predictor(oracle(target, diffusion), diffusion, {})
    stop = threading.Event()
    seen = []

    def progress(i, n):
        seen.append((i, n))
        if i == 3:
            stop.set()

    it = (karras_heun_steps(f, diffusion, torch.randn(1, 6, 8) * 120, steps=10, progress=progress, cancel=stop)
          if sampler == "heun" else ddim_steps(f, diffusion, torch.randn(1, 6, 8), steps=10, progress=progress,
                                               cancel=stop))
    with pytest.raises(Cancelled, match="step 3 of 10"):
        run(it)
    assert seen == [(1, 10), (2, 10), (3, 10)]


def test_ddim_timesteps_with_a_strength_start_part_way():
    from gen3d.diffusion.samplers import ddim_timesteps

    full = ddim_timesteps(1024, 16)
    assert full[0] == 1023 and full[-1] == 0 and len(full) == 16
    half = ddim_timesteps(1024, 16, 0.5)
    assert list(half) == [t for t in full if t <= 511.5]
    with pytest.raises(ValueError, match="strength"):
        ddim_timesteps(1024, 16, -0.1)


def test_ddim_spacing_puts_more_steps_at_low_noise_and_keeps_the_step_count():
    from gen3d.diffusion.samplers import ddim_timesteps

    assert list(ddim_timesteps(1024, 16, spacing=1.0)) == list(ddim_timesteps(1024, 16))
    for spacing in (2.0, 3.0, 4.0):
        ts = ddim_timesteps(1024, 16, spacing=spacing)
        assert len(ts) == 16 and ts[0] == 1023 and ts[-1] == 0 and (np.diff(ts) < 0).all()
        assert (ts < 512).sum() > (ddim_timesteps(1024, 16) < 512).sum()
    assert list(ddim_timesteps(10, 10, spacing=3.0)) == list(range(9, -1, -1))  # rounding collisions pushed apart
    cubic = ddim_timesteps(1024, 16, spacing=3.0)
    assert list(ddim_timesteps(1024, 16, 0.5, spacing=3.0)) == [t for t in cubic if t <= 511.5]
    with pytest.raises(ValueError, match="spacing"):
        ddim_timesteps(1024, 16, spacing=0.0)
    with pytest.raises(ValueError, match="steps"):
        ddim_timesteps(16, 17)


def test_biased_timesteps_favour_high_noise_and_stay_in_range():
    d = GaussianDiffusion.named("cosine", 1024)
    torch.manual_seed(0)
    uniform = d.sample_timesteps(20000, bias=1.0)
    biased = d.sample_timesteps(20000, bias=1.5)
    for t in (uniform, biased):
        assert t.dtype == torch.long and int(t.min()) >= 0 and int(t.max()) <= 1023
    # density (t/T)**0.5: the top half gets 1 - 0.5**1.5 = 0.646 of the draws, uniform gets 0.5
    assert abs(float((uniform >= 512).float().mean()) - 0.5) < 0.02
    assert abs(float((biased >= 512).float().mean()) - 0.646) < 0.02
    with pytest.raises(ValueError, match="bias"):
        d.sample_timesteps(4, bias=0.0)
