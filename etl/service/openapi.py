"""The OpenAPI 3 description of /api/v1/ (served as /api/v1/openapi.json); a test checks it names every route."""

from __future__ import annotations

from etl.service.requests import MAX_K, MAX_TEXTS

PROBE_FIELDS = {
    "model": {"type": "string", "description": "model slug or spec (default: the only model, or serve --model)"},
    "source": {"type": "string", "description": "text source of the probes (default: reference, or serve --source)"},
    "kind": {"type": "string", "description": "probe kind (default: the lake's default probe set)"},
    "layer": {"type": "integer", "description": "probe layer (default: the kind's best evaluated layer)"},
}
TEXT = {"type": "string", "minLength": 1, "maxLength": 100_000, "description": "at most 2,048 tokens"}
TEXTS = {"type": "array", "items": TEXT, "minItems": 1, "maxItems": MAX_TEXTS}
PROBE_SET = {
    "model": {"type": "string"},
    "source": {"type": "string"},
    "kind": {"type": "string"},
    "layer": {"type": "integer"},
}
MATCH = {
    "type": "object",
    "properties": {"emotion": {"type": "string"}, "score": {"type": "number", "description": "cosine, 4 decimals"}},
}
MATCHES = {"type": "array", "items": MATCH}
WARNING = {
    "type": "string",
    "nullable": True,
    "description": "set when the text is under 8 tokens: the answer is a weak guess; null otherwise",
}


def texts_body(extra: dict) -> dict:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "description": "exactly one of text and texts",
                    "properties": {"text": TEXT, "texts": TEXTS} | extra | PROBE_FIELDS,
                }
            }
        },
    }


NEAREST_FIELDS = {
    "k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 5},
    "truncate": {"type": "boolean", "default": False, "description": "read the first 2,048 tokens of longer texts"},
}


def answer(description: str, properties: dict) -> dict:
    schema = {"type": "object", "properties": properties}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    str(code): {"$ref": f"#/components/responses/{name}"}
    for code, name in [(400, "BadRequest"), (404, "NotFound"), (405, "WrongMethod"), (413, "TooLarge")]
}


def spec() -> dict:
    """The whole description, built fresh (callers may change their copy)."""
    from etl import __version__

    error = {"type": "object", "properties": {"error": {"type": "string", "description": "one line"}}}
    error_content = {"application/json": {"schema": error}}
    score_body = texts_body({})
    del score_body["content"]["application/json"]["schema"]["properties"]["texts"]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "emolake",
            "version": __version__,
            "description": "Which emotions is a text closest to: the numbers `emolake nearest` prints (docs/api.md).",
        },
        "paths": {
            "/api/v1/nearest": {
                "post": {
                    "summary": "the k emotions whose probes best match each text, best first",
                    "requestBody": texts_body(NEAREST_FIELDS),
                    "responses": {
                        "200": answer(
                            "the probe set; nearest: a list of matches for text, a list of lists for texts; "
                            "warnings: one per text",
                            PROBE_SET
                            | {"nearest": {"oneOf": [MATCHES, {"type": "array", "items": MATCHES}]}}
                            | {"warnings": {"type": "array", "items": WARNING}},
                        ),
                        **ERRORS,
                    },
                }
            },
            "/api/v1/classify": {
                "post": {
                    "summary": "what `emolake classify` writes: row_id, emotions, scores, warning per text",
                    "requestBody": texts_body(NEAREST_FIELDS),
                    "responses": {
                        "200": answer(
                            "the probe set and one row per text (with its warning)", PROBE_SET | {"rows": {}}
                        ),
                        **ERRORS,
                    },
                }
            },
            "/api/v1/score": {
                "post": {
                    "summary": "per-token scores of one text (position 0 is never scored)",
                    "requestBody": score_body,
                    "responses": {
                        "200": answer(
                            "tokens; scores (projections, as `emolake score`) and cosines (the token viewer's), "
                            "one row per token, one column per emotion",
                            PROBE_SET
                            | {
                                "warning": WARNING,
                                "emotions": {"type": "array", "items": {"type": "string"}},
                                "tokens": {"type": "array"},
                                "scores": {"type": "array"},
                                "cosines": {"type": "array"},
                            },
                        ),
                        **ERRORS,
                    },
                }
            },
            "/api/v1/probes": {
                "get": {
                    "summary": "every probe set in the lake, with its emotion count and which is the default",
                    "responses": {"200": answer("probe_sets", {"probe_sets": {"type": "array"}})},
                }
            },
            "/api/v1/health": {"get": {"summary": "the server is up", "responses": {"200": answer("status ok", {})}}},
            "/api/v1/openapi.json": {
                "get": {"summary": "this description", "responses": {"200": answer("OpenAPI 3", {})}}
            },
        },
        "components": {
            "responses": {
                name: {"description": description, "content": error_content}
                for name, description in [
                    ("BadRequest", "a bad body, text, k or field"),
                    ("NotFound", "no such route, or no such probe set (model, source, kind, layer)"),
                    ("WrongMethod", "a known route asked with another method"),
                    ("TooLarge", "a body over 16 MiB"),
                ]
            }
        },
    }
