"""Batches: the pure scheduler and its records, the journal, and the sync/async runner.

Loaded on first use (``client.batch`` or a batch name of the package): a program that runs no
batch never imports it."""
