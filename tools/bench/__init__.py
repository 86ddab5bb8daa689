"""``make bench``: this SDK side by side with raw httpx and ``replicate`` 1.0.7, over loopback.

``python -m tools.bench`` (in the benchmark environment, ``.venv-bench``) starts the sandbox in
its own process pinned to one core, runs each measure in a fresh worker process pinned to the
other, and prints one table of ratios. ``BENCH_QUICK=1`` runs a smaller, shorter version.
"""
