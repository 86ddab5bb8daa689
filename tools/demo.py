"""``make demo``: the main job, from a model name and a prompt to image files on disk."""

from __future__ import annotations

import os
import sys

from cometapi_replicate_api.models import Prediction

from cometapi_replicate import Client, CometAPIError, parse_progress

MODEL = "black-forest-labs/flux-schnell"
PROMPT = "A paper boat floating on calm water at sunrise."


def show(prediction: Prediction) -> None:
    progress = parse_progress(prediction.logs if isinstance(prediction.logs, str) else None)
    done = f" {progress.percentage:.0%}" if progress else ""
    print(f"  {prediction.id}: {prediction.status}{done}", file=sys.stderr)


def main() -> int:
    if not os.environ.get("COMETAPI_KEY"):
        print("make demo needs COMETAPI_KEY for now: the local sandbox is not built yet.")
        return 2
    try:
        with Client() as client:
            prediction = client.run(MODEL, {"prompt": PROMPT}, timeout=600, on_update=show)
            for path in client.predictions.download(prediction, "demo-output"):
                print(f"saved {path}")
    except CometAPIError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
