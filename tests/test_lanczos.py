"""Lanczos and SLQ against dense eigendecompositions of matrices with known spectra."""

import torch

from geometry.lanczos import lanczos, slq_density


def _matrix(eigs: torch.Tensor, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(len(eigs), len(eigs), generator=gen, dtype=torch.float64))
    return q @ torch.diag(eigs) @ q.T


def _spread(d: int = 300) -> torch.Tensor:
    """Mostly flat spectrum with a few large values at both ends, like a curvature profile."""
    gen = torch.Generator().manual_seed(1)
    eigs = 0.01 * torch.randn(d, generator=gen, dtype=torch.float64)
    eigs[:6] = torch.tensor([5.0, 3.0, 2.0, 1.5, 1.0, 0.8], dtype=torch.float64)
    eigs[6:12] = -torch.tensor([4.0, 2.5, 1.8, 1.2, 0.9, 0.7], dtype=torch.float64)
    return eigs


def test_lanczos_extremes_match_eigvalsh():
    eigs = _spread()
    a = _matrix(eigs)
    res = lanczos(lambda v: v @ a, a.shape[0], k=5, tol=1e-6)
    truth = torch.sort(eigs, descending=True).values
    expected = torch.cat([truth[:5], truth[-5:]])
    assert res.converged
    torch.testing.assert_close(res.eigenvalues, expected, rtol=1e-6, atol=1e-8)
    assert res.n_matvec < a.shape[0] / 2  # far fewer products than a dense decomposition
    true_res = (res.eigenvectors @ a - res.eigenvectors * res.eigenvalues[:, None]).norm(dim=1)
    assert float(true_res.max()) < 1e-5 * 5


def test_lanczos_respects_constraint_and_seed():
    a = _matrix(_spread(100), seed=3)
    c = torch.zeros(1, 100, dtype=torch.float64)
    c[0, 0] = 1.0
    project = lambda v: v - (v @ c.T) @ c  # noqa: E731
    op = lambda v: project(project(v) @ a)  # noqa: E731
    r1 = lanczos(op, 100, k=3, constraint=c, generator=torch.Generator().manual_seed(5))
    r2 = lanczos(op, 100, k=3, constraint=c, generator=torch.Generator().manual_seed(5))
    assert float((r1.eigenvectors @ c.T).abs().max()) < 1e-10
    torch.testing.assert_close(r1.eigenvalues, r2.eigenvalues)


def test_lanczos_invariant_subspace_small_rank():
    """Rank-2 operator: Lanczos stops early on an invariant subspace, and the pairs are exact."""
    u = torch.eye(20, dtype=torch.float64)[:2] * torch.tensor([[3.0], [-2.0]], dtype=torch.float64)
    a = u.T @ torch.eye(20, dtype=torch.float64)[:2]
    a = (a + a.T) / 2
    res = lanczos(lambda v: v @ a, 20, k=1, tol=1e-8)
    assert res.converged
    assert abs(float(res.eigenvalues[0]) - float(torch.linalg.eigvalsh(a)[-1])) < 1e-10
    assert abs(float(res.eigenvalues[-1]) - float(torch.linalg.eigvalsh(a)[0])) < 1e-10


def test_slq_density_finds_discrete_spectrum():
    eigs = torch.tensor([-1.0] * 10 + [0.0] * 80 + [2.0] * 10, dtype=torch.float64)
    a = _matrix(eigs, seed=4)
    dens = slq_density(lambda v: v @ a, 100, n_probes=16, steps=10)
    assert abs(float(dens.weights.sum()) - 1.0) < 1e-10
    mass = {lam: float(dens.weights[(dens.nodes - lam).abs() < 1e-6].sum()) for lam in (-1.0, 0.0, 2.0)}
    assert 0.05 < mass[-1.0] < 0.2 and 0.65 < mass[0.0] < 0.95 and 0.05 < mass[2.0] < 0.2
    assert dens.n_matvec == 16 * 10


def test_lanczos_that_runs_out_of_steps_reports_non_convergence():
    """A step cap far below what the clustered ends need: the result says converged=False, and the reported
    Ritz residuals are the true ones, some above the tolerance that was asked for."""
    eigs = _spread()
    a = _matrix(eigs)
    tol = 1e-8
    res = lanczos(lambda v: v @ a, a.shape[0], k=5, tol=tol, max_steps=12)
    assert not res.converged
    assert res.steps == res.n_matvec == 12
    true_res = (res.eigenvectors @ a - res.eigenvectors * res.eigenvalues[:, None]).norm(dim=1)
    torch.testing.assert_close(res.ritz_residuals, true_res, rtol=1e-6, atol=1e-10)
    assert float(res.ritz_residuals.max()) > tol * float(res.eigenvalues.abs().max())
    converged = lanczos(lambda v: v @ a, a.shape[0], k=5, tol=tol)  # the same problem, uncapped
    assert converged.converged and converged.steps > 12


def test_curvature_spectrum_reports_a_lanczos_run_that_did_not_converge(quadratic_model):
    from geometry.spectrum import curvature_spectrum

    x = torch.zeros(6, dtype=torch.float64)
    capped = curvature_spectrum(quadratic_model, x, solver="lanczos", k=2, tol=1e-10, max_steps=2)
    assert capped.solver == "lanczos" and not capped.converged
    full = curvature_spectrum(quadratic_model, x, solver="lanczos", k=2, tol=1e-10)
    assert full.converged
