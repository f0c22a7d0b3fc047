"""Camunda forms (``camunda:formData``) as validation rules and as JSON Schema.

A form is the contract of a user task or start event: submitted data must name only its
fields, with the right types, within its constraints. Dates travel as ISO 8601 strings
(``YYYY-MM-DD``), which is what the instance data then holds.
"""

from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from marshmallow import RAISE, Schema, fields, validate
from marshmallow import ValidationError as MarshmallowError

from engine.errors import ValidationFailed

FIELD_TYPES = ("string", "long", "double", "boolean", "date", "enum")
CONSTRAINTS = ("required", "readonly", "minlength", "maxlength", "min", "max", "pattern")
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
#: Constraints that only make sense (and only validate without crashing) for some types.
_CONSTRAINT_TYPES = {
    "minlength": ("string", "enum", "date"), "maxlength": ("string", "enum", "date"),
    "pattern": ("string", "enum", "date"), "min": ("long", "double"), "max": ("long", "double"),
}


class _StrictBoolean(fields.Field):
    default_error_messages = {"invalid": "Not a valid boolean (true or false)."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class _StrictNumber(fields.Field):
    default_error_messages = {"invalid": "Not a valid number."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise self.make_error("invalid")
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            raise self.make_error("invalid")
        return value


class _IsoDate(fields.Field):
    default_error_messages = {"invalid": "Not a valid date (YYYY-MM-DD)."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) != 10:
            raise self.make_error("invalid")
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise self.make_error("invalid") from None


@dataclass(frozen=True)
class FormField:
    """One field of a form with its constraints, typed."""

    id: str
    type: str
    label: str | None = None
    default: Any = None
    required: bool = False
    readonly: bool = False
    minlength: int | None = None
    maxlength: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    #: valid values to show (``<camunda:property id="example" value="..." />``)
    examples: tuple[str, ...] = ()

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "string": {"type": "string"},
            "long": {"type": "integer"},
            "double": {"type": "number"},
            "boolean": {"type": "boolean"},
            "date": {"type": "string", "format": "date"},
            "enum": {"type": "string", "enum": [option for option, _ in self.options]},
        }[self.type]
        if self.label:
            schema["title"] = self.label
        if self.type == "enum":
            schema["x-enum-labels"] = {option: name for option, name in self.options}
        for key, value in (("minLength", self.minlength), ("maxLength", self.maxlength),
                           ("minimum", self.minimum), ("maximum", self.maximum),
                           ("pattern", self.pattern), ("default", self.default)):
            if value is not None:
                schema[key] = value
        if self.examples:
            schema["examples"] = list(self.examples)
        if self.readonly:
            schema["readOnly"] = True
        return schema

    def marshmallow_field(self) -> fields.Field:
        validators: list = []
        if self.minlength is not None or self.maxlength is not None:
            validators.append(validate.Length(min=self.minlength, max=self.maxlength))
        if self.minimum is not None or self.maximum is not None:
            validators.append(validate.Range(min=self.minimum, max=self.maximum))
        if self.pattern is not None:
            # The message is a str.format template: braces of the pattern ({4}) are escaped.
            shown = self.pattern.replace("{", "{{").replace("}", "}}")
            validators.append(validate.Regexp(
                f"(?:{self.pattern})\\Z", error=f"Does not match the pattern {shown}."))
        if self.type == "enum":
            validators.append(validate.OneOf([option for option, _ in self.options]))
        kind = {
            "string": fields.String, "enum": fields.String, "long": fields.Integer,
            "double": _StrictNumber, "boolean": _StrictBoolean, "date": _IsoDate,
        }[self.type]
        options: dict[str, Any] = {"required": self.required, "allow_none": not self.required,
                                   "validate": validators}
        if kind is fields.Integer:
            options["strict"] = True
        return kind(**options)


class Form:
    """The fields of one user task or start event."""

    def __init__(self, form_fields: tuple[FormField, ...] = ()) -> None:
        self.fields = form_fields

    @classmethod
    def from_spiff(cls, spiff_form) -> Form:
        """Build from SpiffWorkflow's parsed form; assumes :func:`problems` found none."""
        if spiff_form is None:
            return cls()
        return cls(tuple(_field_from_spiff(field) for field in spiff_form.fields))

    @property
    def field_ids(self) -> tuple[str, ...]:
        return tuple(field.id for field in self.fields)

    @cached_property
    def _schema(self) -> Schema:
        schema_class = Schema.from_dict(
            {field.id: field.marshmallow_field() for field in self.fields if not field.readonly},
            name="FormSchema",
        )
        return schema_class(unknown=RAISE)

    def validate(self, data: dict[str, Any] | None) -> dict[str, Any]:
        """Return the submitted data, checked and normalised; absent fields take their
        default (so a required field with a default may be left out).

        Raises :class:`ValidationFailed` with one entry per field at fault.
        """
        if data is not None and not isinstance(data, dict):
            raise ValidationFailed("the submitted data does not fit the form",
                                   details={"_": ["Data must be an object of field values."]})
        data = dict(data or {})
        for field in self.fields:  # a field left out takes its default (also when required)
            if field.id not in data and field.default is not None and not field.readonly:
                data[field.id] = field.default
        errors: dict[str, list[str]] = {}
        for field in self.fields:
            if field.readonly and field.id in data:
                errors[field.id] = ["This field is read-only."]
                del data[field.id]
            elif field.required and data.get(field.id) == "":
                errors[field.id] = ["Missing data for required field."]
        try:
            clean = self._schema.load(data)
        except MarshmallowError as exc:
            messages = exc.messages if isinstance(exc.messages, dict) else {"_": exc.messages}
            for key, value in messages.items():
                errors.setdefault(str(key), []).extend(
                    value if isinstance(value, list) else [str(value)])
            clean = {}
        if errors:
            raise ValidationFailed("the submitted data does not fit the form", details=errors)
        return clean

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {field.id: field.json_schema() for field in self.fields},
            "required": [field.id for field in self.fields if field.required],
            "additionalProperties": False,
        }


def problems(spiff_form) -> list[tuple[str | None, str]]:
    """Deploy-time checks of a form: ``(field id, message)`` for each fault."""
    found: list[tuple[str | None, str]] = []
    seen: set[str] = set()
    for field in spiff_form.fields if spiff_form is not None else ():
        fid = field.id or ""
        if not _IDENTIFIER.match(fid) or keyword.iskeyword(fid):
            found.append((fid or None, f"form field id '{fid}' must be a name made of letters, "
                          "digits and '_' that starts with a letter"))
            continue
        before = len(found)
        if fid in seen:
            found.append((fid, f"form field '{fid}' is declared twice"))
        seen.add(fid)
        if field.type not in FIELD_TYPES:
            found.append((fid, f"form field '{fid}' has type '{field.type}'; "
                          f"allowed: {', '.join(FIELD_TYPES)}"))
            continue
        if field.type == "enum" and not field.options:
            found.append((fid, f"enum form field '{fid}' has no values"))
        for rule in field.validation:
            if rule.name not in CONSTRAINTS:
                found.append((fid, f"form field '{fid}': unknown constraint '{rule.name}'; "
                              f"allowed: {', '.join(CONSTRAINTS)}"))
                continue
            if field.type not in _CONSTRAINT_TYPES.get(rule.name, FIELD_TYPES):
                found.append((fid, f"form field '{fid}': constraint '{rule.name}' does not "
                              f"apply to a {field.type} field"))
                continue
            message = _constraint_problem(rule.name, rule.config)
            if message:
                found.append((fid, f"form field '{fid}': {message}"))
        if len(found) == before:
            try:
                _field_from_spiff(field)
            except ValueError as exc:
                found.append((fid, f"form field '{fid}': {exc}"))
    return found


def _constraint_problem(name: str, config: str | None) -> str | None:
    if name in ("minlength", "maxlength"):
        if config is None or not config.strip().isdigit():
            return f"'{name}' needs a whole number, got '{config}'"
    elif name in ("min", "max"):
        try:
            finite = math.isfinite(float(config or ""))
        except ValueError:
            finite = False
        if not finite:
            return f"'{name}' needs a number, got '{config}'"
    elif name == "pattern":
        try:
            re.compile(config or "")
        except re.error as exc:
            return f"'pattern' is not a valid regular expression: {exc}"
    return None


def _field_from_spiff(field) -> FormField:
    rules = {rule.name: rule.config for rule in field.validation}
    kind = field.type
    options = tuple((o.id, o.name or o.id) for o in getattr(field, "options", ()))
    # A long field's bounds are whole: at least 1.5 means at least 2.
    lower, upper = (math.ceil, math.floor) if kind == "long" else (float, float)
    built = FormField(
        id=field.id,
        type=kind,
        label=field.label,
        required="required" in rules and (rules["required"] or "true").lower() != "false",
        readonly="readonly" in rules and (rules["readonly"] or "true").lower() != "false",
        minlength=int(rules["minlength"]) if "minlength" in rules else None,
        maxlength=int(rules["maxlength"]) if "maxlength" in rules else None,
        minimum=lower(float(rules["min"])) if "min" in rules else None,
        maximum=upper(float(rules["max"])) if "max" in rules else None,
        pattern=rules.get("pattern"),
        options=options,
        examples=tuple(p.value for p in getattr(field, "properties", ()) if p.id == "example"),
    )
    if built.pattern and not all(re.fullmatch(built.pattern, e) for e in built.examples):
        raise ValueError(f"an example does not match the pattern {built.pattern}")
    if field.default_value not in (None, ""):
        default = _typed_default(built, field.default_value)
        built = FormField(**{**built.__dict__, "default": default})
    return built


def _typed_default(field: FormField, raw: str) -> Any:
    try:
        if field.type == "long":
            return int(raw)
        if field.type == "double":
            return float(raw)
        if field.type == "boolean":
            if raw.lower() not in ("true", "false"):
                raise ValueError
            return raw.lower() == "true"
        if field.type == "date":
            return date.fromisoformat(raw).isoformat()
    except ValueError:
        raise ValueError(f"default value '{raw}' is not a valid {field.type}") from None
    if field.type == "enum" and raw not in {option for option, _ in field.options}:
        raise ValueError(f"default value '{raw}' is not one of its values")
    return raw
