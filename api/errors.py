"""Every error answers ``{"error": {"code", "message", "details"}}``; a 500 is a bug."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from engine.errors import (
    BiflowError,
    Conflict,
    DeploymentFailed,
    Forbidden,
    NotFound,
    ProcessError,
    ValidationFailed,
)

log = logging.getLogger(__name__)

STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, ValidationFailed: 422,
          DeploymentFailed: 422, ProcessError: 422}
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large",
              415: "unsupported_media_type", 422: "validation_failed", 429: "too_many_requests"}


def error_response(status: int, code: str, message: str, details: Any = None):
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    return response


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs' ``{"json": {"data": {"x": [...]}}}`` -> ``{"data.x": [...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                flat.update(_flatten(value, name))
            else:
                flat[name] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    else:
        flat[prefix or "_"] = [str(messages)]
    return flat


def http_error(exc: HTTPException):
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    if "messages" in data:  # webargs: 422 for fields, 400 for a body that is not JSON
        details: dict[str, list[str]] = {}
        for location, messages in data["messages"].items():
            flat = _flatten(messages)
            details.update({f"{location}.{k}" if k == "_schema" else k: v
                            for k, v in flat.items()})
        message = ("the request does not fit its schema" if status == 422
                   else "the request body is not valid JSON")
        return error_response(status, HTTP_CODES.get(status, "error"), message, details)
    message = data.get("message") or exc.description or exc.name
    response = error_response(status, HTTP_CODES.get(status, "error"), str(message))
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="biflow"'
    return response


def engine_error(exc: BiflowError):
    status = next((s for kind, s in STATUS.items() if isinstance(exc, kind)), 400)
    return error_response(status, exc.code, exc.message, exc.details)


def unexpected_error(exc: Exception):
    log.exception("unexpected error")
    return error_response(500, "internal_error", "an unexpected error occurred; it was logged")


def register(app: Flask) -> None:
    app.register_error_handler(BiflowError, engine_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)
