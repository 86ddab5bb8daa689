"""``COMETAPI_LOG=debug|info``: the SDK's log lines on stderr, without writing any code.

Like ``OPENAI_LOG`` in openai-python, read once at import. Only the ``cometapi_replicate``
logger is touched (never the root logger): a handler on stderr at that level. The SDK's log
lines never contain the API key. Any other value leaves logging as the application set it.
"""

from __future__ import annotations

import logging
import os

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
FORMAT = "[%(asctime)s %(name)s %(levelname)s] %(message)s"


def setup_logging(value: str | None = None) -> logging.Handler | None:
    """Apply ``value`` (default: ``$COMETAPI_LOG``); the handler added, if any."""
    if value is None:
        value = os.environ.get("COMETAPI_LOG")
    level = LEVELS.get((value or "").strip().lower())
    if level is None:
        return None
    logger = logging.getLogger("cometapi_replicate")
    handler = logging.StreamHandler()  # sys.stderr
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler
