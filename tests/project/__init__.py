"""The project itself: packaging, releases, spec updates, generated code, docs and benchmarks."""
