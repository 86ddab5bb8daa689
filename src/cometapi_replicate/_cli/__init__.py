"""The command line, ``cometapi-replicate``: its commands over a shared vocabulary.

Loaded only by the console script and ``python -m cometapi_replicate``."""
