"""What a view needs from the app: the engine, the caller, and shared response docs."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from sqlalchemy import inspect

from api.schemas.common import ErrorSchema
from engine import Engine

ERROR_DESCRIPTIONS = {
    400: "Malformed request", 401: "Missing or invalid bearer token", 403: "Not allowed",
    404: "Unknown id", 409: "Conflict: the state changed or the task is not free",
    413: "Body too large", 415: "Unsupported media type",
    422: "Invalid data: details name each field or model element",
}


def engine() -> Engine:
    return current_app.extensions["biflow.engine"]


def errors(blueprint, *codes: int) -> Callable:
    """Document the error responses of an endpoint (always 401 too: every endpoint is
    authenticated except the public ones, which do not use this)."""
    def decorate(view: Callable) -> Callable:
        for code in sorted({401, *codes}):
            view = blueprint.alt_response(code, schema=ErrorSchema,
                                          description=ERROR_DESCRIPTIONS[code])(view)
        return view
    return decorate


def fields_of(row) -> dict:
    """A row's column values, unserialised: to extend before the response schema dumps it."""
    return {attribute.key: getattr(row, attribute.key)
            for attribute in inspect(row).mapper.column_attrs}
