"""API errors carry Kubernetes' reasons, codes and messages (apimachinery api/errors)."""

from __future__ import annotations

import pytest

from cp.api.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    Expired,
    FieldError,
    FieldErrorType,
    Invalid,
    NotFound,
    NotSupported,
)


@pytest.mark.parametrize(
    ("error", "reason", "code", "message"),
    [
        (
            NotFound.of("deployments", "apps", "web"),
            "NotFound",
            404,
            'deployments.apps "web" not found',
        ),
        (NotFound.of("pods", "", "web-0"), "NotFound", 404, 'pods "web-0" not found'),
        (
            AlreadyExists.of("services", "", "db"),
            "AlreadyExists",
            409,
            'services "db" already exists',
        ),
        (
            Conflict.of("deployments", "apps", "web"),
            "Conflict",
            409,
            'Operation cannot be fulfilled on deployments.apps "web": the object has been '
            "modified; please apply your changes to the latest version and try again",
        ),
        (Expired.too_old(5, 10), "Expired", 410, "too old resource version: 5 (10)"),
        (BadRequest("bad"), "BadRequest", 400, "bad"),
        (NotSupported("no"), "MethodNotAllowed", 405, "no"),
    ],
)
def test_reason_code_and_message(error: ApiError, reason: str, code: int, message: str) -> None:
    assert (error.reason, error.code, str(error)) == (reason, code, message)
    status = error.status()
    assert (status["reason"], status["code"], status["message"]) == (reason, code, message)
    assert status["kind"] == "Status"
    assert status["status"] == "Failure"


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (
            FieldError(
                FieldErrorType.INVALID, "spec.replicas", -1, "must be greater than or equal to 0"
            ),
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        ),
        (FieldError(FieldErrorType.REQUIRED, "spec.selector"), "spec.selector: Required value"),
        (
            FieldError(FieldErrorType.REQUIRED, "spec.template.spec.containers[0].image", "", "x"),
            "spec.template.spec.containers[0].image: Required value: x",
        ),
        (
            FieldError(
                FieldErrorType.NOT_SUPPORTED,
                "spec.strategy.type",
                "Foo",
                'supported values: "Recreate", "RollingUpdate"',
            ),
            'spec.strategy.type: Unsupported value: "Foo": supported values: "Recreate", '
            '"RollingUpdate"',
        ),
        (
            FieldError(FieldErrorType.DUPLICATE, "spec.containers[1].name", "web"),
            'spec.containers[1].name: Duplicate value: "web"',
        ),
        (
            FieldError(FieldErrorType.INVALID, "spec.paused", True, "x"),
            "spec.paused: Invalid value: true: x",
        ),
    ],
)
def test_field_error_text_is_upstreams(error: FieldError, text: str) -> None:
    assert str(error) == text


def test_invalid_lists_every_cause_and_names_the_object() -> None:
    errors = [
        FieldError(
            FieldErrorType.INVALID, "spec.replicas", -1, "must be greater than or equal to 0"
        ),
        FieldError(FieldErrorType.REQUIRED, "spec.selector"),
    ]
    error = Invalid.of("Deployment", "apps", "web", errors)
    assert str(error) == (
        'Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be greater '
        "than or equal to 0, spec.selector: Required value]"
    )
    assert error.errors == tuple(errors)
    causes = error.status()["details"]["causes"]  # type: ignore[index]
    assert [(c["reason"], c["field"]) for c in causes] == [
        ("FieldValueInvalid", "spec.replicas"),
        ("FieldValueRequired", "spec.selector"),
    ]
    single = Invalid.of("Pod", "", "p", errors[1:])
    assert str(single) == 'Pod "p" is invalid: spec.selector: Required value'


def test_every_error_is_an_api_error() -> None:
    for cls in (NotFound, AlreadyExists, Conflict, Invalid, BadRequest, Expired, NotSupported):
        assert issubclass(cls, ApiError)
