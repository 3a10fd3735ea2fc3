"""What the API document cannot state, for the fuzz run of `tests/openapi_fuzz.rs`.

The document states the form of every value, and the server refuses what does not
have it. A few refusals of schema-valid data depend on what is stored or on rules no
JSON Schema can state; a 412 or a 422 for schema-valid data is accepted only when it
is one of these. Any other refusal, and every other finding, still fails the run.
"""

import json

import schemathesis

# Fields whose value must name something that exists, be a cursor this server gave
# out, or be read as more than its form. Every operation: `cursor`.
BEYOND_THE_FORM = {
    # A position in a list that the server handed out; an invented one is not one.
    "*": {"cursor"},
    # A number must be dialable in its country's numbering plan (libphonenumber).
    "lookupNumber": {"number", "user"},
    "phonebookLookup": {"number"},
    "addAllowedNumber": {"number"},
    "addBlockedNumber": {"number", "prefix"},
    "createSharedContact": {"work_phone", "mobile_phone", "home_phone", "fax"},
    "createPersonalContact": {"work_phone", "mobile_phone", "home_phone", "fax"},
    # A patch is checked with the stored contact: the result needs a name.
    "updateSharedContact": {"first_name", "work_phone", "mobile_phone", "home_phone", "fax"},
    "updatePersonalContact": {"first_name", "work_phone", "mobile_phone", "home_phone", "fax"},
    # The user and the reseller named must exist; networks must be address ranges.
    "createDevice": {"user", "allowed_networks"},
    "createDomain": {"reseller"},
    "updateDomain": {"reseller"},
    # A webhook's URL must be absolute, http(s), and reach a public address once resolved.
    "createWebhook": {"url"},
    "updateWebhook": {"url"},
    # An app password's name is trimmed (a blank one is empty) and on one line.
    "createAppPassword": {"name"},
    # A file's content must be a contacts file the readers recognise.
    "importSharedContacts": {"file"},
    "importPersonalContacts": {"file"},
}

# Bodies that must be an image: its first bytes say whether it is a JPEG, PNG, GIF or
# WebP (415 when not, 422 when empty), which no schema of a byte string can state.
IMAGES = {"putSharedContactPhoto", "putPersonalContactPhoto"}


def operation_id(case):
    definition = getattr(case.operation, "definition", None)
    raw = getattr(definition, "raw", None) or {}
    return raw.get("operationId", "")


def refused_fields(response):
    try:
        errors = json.loads(response.content).get("errors") or []
    except ValueError:
        return []
    # `allowed_networks[2]` is the field `allowed_networks`.
    return [str(error.get("field", "")).split("[")[0] for error in errors]


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if failure.code != "ST202":
        return True
    # `If-Match` names a version; which one is current depends on what was stored.
    if response.status_code == 412:
        return False
    if response.status_code in (415, 422) and operation_id(case) in IMAGES:
        return False
    if response.status_code != 422:
        return True
    allowed = BEYOND_THE_FORM["*"] | BEYOND_THE_FORM.get(operation_id(case), set())
    fields = refused_fields(response)
    return not (fields and all(field in allowed for field in fields))
