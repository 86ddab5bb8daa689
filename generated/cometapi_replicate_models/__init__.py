"""Typed inputs of the models with a vendored document, loaded on first use.

``MODELS`` maps each model id to its subpackage (relative to this package); this
module imports nothing.
"""

MODELS: dict[str, str] = {
    "black-forest-labs/flux-1.1-pro": "black_forest_labs.flux_1_1_pro",
    "black-forest-labs/flux-1.1-pro-ultra": "black_forest_labs.flux_1_1_pro_ultra",
    "black-forest-labs/flux-dev": "black_forest_labs.flux_dev",
    "black-forest-labs/flux-pro": "black_forest_labs.flux_pro",
    "black-forest-labs/flux-schnell": "black_forest_labs.flux_schnell",
}
