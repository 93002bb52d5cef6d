"""The JSON API of a resident server: `emolake serve` mounts it beside the dashboards, `emolake serve --api-only`
serves it alone (docs/api.md).

`requests` validates bodies, `scorers` caches one scorer per probe set, `batching` gathers concurrent `nearest`
calls into one forward pass, `app` holds the Flask routes, `openapi` their description and `client` the
Python side (`emolake.connect`, `emolake nearest --server`). Every answer comes from
the scorer the CLI uses (`etl.probes.scoring`), so the server and `emolake nearest` print the same numbers.
"""
