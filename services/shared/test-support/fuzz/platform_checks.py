"""Schemathesis checks of the platform's own contract, loaded with SCHEMATHESIS_HOOKS.

The built-in checks prove "no 5xx" and "the response matches the document"; this one proves
what the document cannot say precisely enough: every error, whatever its cause (the router, the
JSON extractor, the auth layer, a handler), is the platform's one error format, so a client
needs a single error decoder.
"""

import json

import schemathesis


@schemathesis.check
def errors_are_platform_problems(ctx, response, case):
    """Every 4xx/5xx answer is JSON `{"error": str, "message": str, "details": object}`."""
    if response.status_code < 400:
        return None
    content_type = ";".join(response.headers.get("content-type", []))
    if not content_type.startswith("application/json"):
        raise AssertionError(
            f"{response.status_code} with content-type {content_type!r}, not the JSON error format"
        )
    try:
        body = json.loads(response.content)
    except ValueError as e:
        raise AssertionError(f"{response.status_code} body is not JSON: {e}") from None
    shape = {"error": str, "message": str, "details": dict}
    wrong = [k for k, t in shape.items() if not isinstance(body.get(k) if isinstance(body, dict) else None, t)]
    if wrong:
        raise AssertionError(
            f"{response.status_code} body lacks or mistypes {', '.join(wrong)}: {body!r}"
        )
    return None


# Fields whose valid values depend on what exists, which a document cannot describe: a
# schema-valid but random id there is rightly refused (422 naming it). Positive cases send none,
# so that "schema-valid data is accepted" is checked on every other field.
STATEFUL_REFERENCES = {"cast_ids": []}


@schemathesis.hook
def map_case(ctx, case):
    meta = case.meta
    positive = meta is not None and not meta.generation.mode.is_negative
    if positive and isinstance(case.body, dict):
        for field, neutral in STATEFUL_REFERENCES.items():
            if field in case.body and case.body[field] is not None:
                case.body[field] = neutral
    return case
