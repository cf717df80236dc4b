"""Benchmarks you can run: framework overhead, routing at scale, async vs sync.

Run one from the repository root with ``python -m benchmarks.overhead --quick``
(see benchmarks/README.md); ``make bench`` runs them all. Results land in
``benchmarks/results/``.
"""
