"""A declared error's text carries its code and every field's message (issue 16 item 8),
for callers that do not import this project; Python callers keep ``fields``; the
gateways' JSON body is unchanged."""
import pytest
from nameko.exceptions import RemoteError, deserialize, serialize

from services.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationError,
    validation_error,
)

FIELDS = {"uscc": ["wrong check character"],
          "contacts": {"0": {"mobile": ["not a valid mobile", "must be 11 digits"]}}}


def foreign(exc):
    """What a caller without this package gets: nameko's RemoteError."""
    data = serialize(exc)
    data["exc_path"] = "elsewhere." + data["exc_type"]  # not in the caller's registry
    err = deserialize(data)
    assert isinstance(err, RemoteError)
    return str(err)


def test_validation_error_text_names_code_and_each_field():
    text = str(ValidationError("Invalid input", FIELDS))
    assert text == ("VALIDATION_ERROR: Invalid input: uscc: wrong check character; "
                    "contacts.0.mobile: not a valid mobile; contacts.0.mobile: must be 11 digits")


@pytest.mark.parametrize("exc,code", [
    (ValidationError("Invalid input", FIELDS), "VALIDATION_ERROR"),
    (ValidationError("Sensitive data is not allowed",
                     {"needs": ["must not contain a resident ID card number (SENSITIVE_DATA)"]},
                     code="SENSITIVE_DATA"), "SENSITIVE_DATA"),
    (NotFound("customer 7 not found"), "NOT_FOUND"),
    (Conflict("version 3 is stale", {"version": ["expected 4"]}), "CONFLICT"),
    (Forbidden("managers only"), "FORBIDDEN"),
    (PayloadTooLarge("attachment over 5 MB", {"content_b64": ["at most 5 MB"]}),
     "PAYLOAD_TOO_LARGE"),
    (ServiceUnavailable("customers did not answer"), "SERVICE_UNAVAILABLE"),
])
def test_a_foreign_caller_reads_code_message_and_fields(exc, code):
    text = foreign(exc)
    assert text.startswith(f"{type(exc).__name__} {code}: {exc.message}")
    for path, messages in (("uscc", FIELDS["uscc"]),
                           ("contacts.0.mobile", FIELDS["contacts"]["0"]["mobile"])):
        if path.split(".")[0] in exc.fields:
            for m in messages:
                assert f"{path}: {m}" in text
    for field, messages in exc.fields.items():
        if isinstance(messages, list):
            for m in messages:
                assert f"{field}: {m}" in text


def test_python_callers_get_the_type_and_structured_fields_back():
    exc = ValidationError("Invalid input", FIELDS, code="SENSITIVE_DATA")
    back = deserialize(serialize(exc))
    assert type(back) is ValidationError
    assert (back.message, back.fields, back.code) == ("Invalid input", FIELDS, "SENSITIVE_DATA")
    assert str(back) == str(exc)


def test_gateway_json_body_is_unchanged():
    exc = validation_error({"amount": "at most 2 decimal places (got 3)"})
    assert exc.to_dict() == {"error": "VALIDATION_ERROR", "message": "Invalid input",
                             "fields": {"amount": ["at most 2 decimal places (got 3)"]}}
    assert NotFound("customer 7 not found").to_dict() == {
        "error": "NOT_FOUND", "message": "customer 7 not found", "fields": {}}


def test_text_without_message_or_fields():
    assert str(Conflict("", code="ILLEGAL_TRANSITION")) == "ILLEGAL_TRANSITION"
    assert str(NotFound("gone")) == "NOT_FOUND: gone"
    assert str(ValidationError("Invalid input", {"rows": [{"0": ["bad"]}]})) == \
        "VALIDATION_ERROR: Invalid input: rows.0: bad"
