"""API errors with Kubernetes' reasons, codes and messages, and field errors for validation.

The tree (apimachinery `pkg/api/errors/errors.go`, `pkg/util/validation/field/errors.go`)::

    ApiError(reason, code, message, details)
    ├── NotFound        404  NotFound        `deployments.apps "web" not found`
    ├── AlreadyExists   409  AlreadyExists   `deployments.apps "web" already exists`
    ├── Conflict        409  Conflict        `Operation cannot be fulfilled on ...`
    ├── Invalid         422  Invalid         `Deployment.apps "web" is invalid: spec.replicas: ...`
    ├── BadRequest      400  BadRequest
    │   ├── InvalidValue (cp.api.errors_values): QuantityError, IntOrStringError, SelectorError
    │   ├── ManifestError (cp.api.codec): a manifest that does not decode, with its field path
    │   └── PatchError (cp.api.patch): a patch that does not apply
    ├── Expired         410  Expired         `too old resource version: 5 (10)`
    └── NotSupported    405  MethodNotAllowed   what cpemu (or the kind) does not support

`FieldError` is one cause of an Invalid error; its `str()` is upstream's `field.Error.Error()`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import ClassVar

import msgspec

__all__ = [
    "AlreadyExists",
    "ApiError",
    "BadRequest",
    "Conflict",
    "Expired",
    "FieldError",
    "FieldErrorType",
    "Invalid",
    "NotFound",
    "NotSupported",
    "StatusCause",
    "StatusDetails",
    "qualified_kind",
    "qualified_resource",
]


def qualified_resource(resource: str, group: str) -> str:
    """`deployments.apps`, or `pods` for the core group (schema.GroupResource.String)."""
    return f"{resource}.{group}" if group else resource


def qualified_kind(kind: str, group: str) -> str:
    """`Deployment.apps`, or `Pod` for the core group (schema.GroupKind.String)."""
    return f"{kind}.{group}" if group else kind


class FieldErrorType(enum.Enum):
    """field.ErrorType: (cause type, text in messages)."""

    NOT_FOUND = ("FieldValueNotFound", "Not found")
    REQUIRED = ("FieldValueRequired", "Required value")
    DUPLICATE = ("FieldValueDuplicate", "Duplicate value")
    INVALID = ("FieldValueInvalid", "Invalid value")
    NOT_SUPPORTED = ("FieldValueNotSupported", "Unsupported value")
    FORBIDDEN = ("FieldValueForbidden", "Forbidden")
    TOO_LONG = ("FieldValueTooLong", "Too long")
    TOO_MANY = ("FieldValueTooMany", "Too many")

    @property
    def cause_type(self) -> str:
        return self.value[0]

    @property
    def text(self) -> str:
        return self.value[1]


_NO_VALUE = (FieldErrorType.REQUIRED, FieldErrorType.FORBIDDEN, FieldErrorType.TOO_LONG)
_OMITTED = object()


class FieldError(msgspec.Struct, frozen=True, gc=False):
    """One bad field: `spec.replicas: Invalid value: -1: must be greater than or equal to 0`."""

    type: FieldErrorType
    field: str
    bad_value: object = _OMITTED
    detail: str = ""

    def body(self) -> str:
        """The message without the field path (field.Error.ErrorBody)."""
        if self.type in _NO_VALUE or self.bad_value is _OMITTED:
            text = self.type.text
        else:
            text = f"{self.type.text}: {_go_value(self.bad_value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"


def _go_value(value: object) -> str:
    """Format a bad value as upstream does: strings quoted (%q), numbers and bools plain."""
    if isinstance(value, str):
        return msgspec.json.encode(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


class StatusCause(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """metav1.StatusCause, in Kubernetes' JSON shape."""

    reason: str = ""
    message: str = ""
    field: str = ""


class StatusDetails(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """metav1.StatusDetails, in Kubernetes' JSON shape."""

    name: str = ""
    group: str = ""
    kind: str = ""
    causes: tuple[StatusCause, ...] = ()


class ApiError(Exception):
    """Root of every API error: a Kubernetes `Status` with reason, code and message."""

    reason: ClassVar[str] = "InternalError"
    code: ClassVar[int] = 500

    def __init__(self, message: str, details: StatusDetails | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or StatusDetails()

    def status(self) -> dict[str, object]:
        """The `v1` `Status` object the API server would send."""
        status: dict[str, object] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        details = msgspec.to_builtins(self.details)
        if details:
            status["details"] = details
        return status


class NotFound(ApiError):
    reason = "NotFound"
    code = 404

    @classmethod
    def of(cls, resource: str, group: str, name: str) -> NotFound:
        details = StatusDetails(name=name, group=group, kind=resource)
        return cls(f'{qualified_resource(resource, group)} "{name}" not found', details)


class AlreadyExists(ApiError):
    reason = "AlreadyExists"
    code = 409

    @classmethod
    def of(cls, resource: str, group: str, name: str) -> AlreadyExists:
        details = StatusDetails(name=name, group=group, kind=resource)
        return cls(f'{qualified_resource(resource, group)} "{name}" already exists', details)


class Conflict(ApiError):
    reason = "Conflict"
    code = 409

    MODIFIED: ClassVar[str] = (
        "the object has been modified; please apply your changes to the latest version and "
        "try again"
    )

    @classmethod
    def of(cls, resource: str, group: str, name: str, why: str = MODIFIED) -> Conflict:
        details = StatusDetails(name=name, group=group, kind=resource)
        what = qualified_resource(resource, group)
        return cls(f'Operation cannot be fulfilled on {what} "{name}": {why}', details)


class Invalid(ApiError):
    reason = "Invalid"
    code = 422

    def __init__(
        self, message: str, details: StatusDetails | None = None, errors: Sequence[FieldError] = ()
    ) -> None:
        super().__init__(message, details)
        self.errors = tuple(errors)

    @classmethod
    def of(cls, kind: str, group: str, name: str, errors: Sequence[FieldError]) -> Invalid:
        """errors.NewInvalid: one cause per field error; the message lists them all."""
        listed = str(errors[0]) if len(errors) == 1 else "[" + ", ".join(map(str, errors)) + "]"
        causes = tuple(
            StatusCause(reason=e.type.cause_type, message=e.body(), field=e.field) for e in errors
        )
        details = StatusDetails(name=name, group=group, kind=kind, causes=causes)
        return cls(f'{qualified_kind(kind, group)} "{name}" is invalid: {listed}', details, errors)


class BadRequest(ApiError):
    reason = "BadRequest"
    code = 400


class Expired(ApiError):
    reason = "Expired"
    code = 410

    @classmethod
    def too_old(cls, requested: int, oldest: int) -> Expired:
        return cls(f"too old resource version: {requested} ({oldest})")


class NotSupported(ApiError):
    """What the emulator (or the kind) does not support; never half-done behaviour."""

    reason = "MethodNotAllowed"
    code = 405
