"""The vendored OpenAPI documents this package was generated from."""

SPECS: dict[str, dict[str, str]] = {
    "create-predictions.openapi.yaml": {
        "sha256": "942e46e893cb07b0d2571c5c9687949f250fbea397d4c6472551ee47cfedc627",
        "version": "1.0.0",
    },
    "replicate-query.openapi.yaml": {
        "sha256": "fe24cd9de8696738a48e5382daab32df6e35cca54cc9d7083749b87123be3b59",
        "version": "1.0.0",
    },
}
