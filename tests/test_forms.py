"""Camunda forms: validation of submitted data, JSON Schema, and deploy-time form checks."""

from __future__ import annotations

import math
from typing import Any

import pytest
from SpiffWorkflow.camunda.specs.user_task import EnumFormField
from SpiffWorkflow.camunda.specs.user_task import Form as SpiffForm
from SpiffWorkflow.camunda.specs.user_task import FormField as SpiffField

from engine import forms
from engine.errors import ValidationFailed
from engine.forms import Form, FormField, problems


def spiff_field(fid: str, kind: str = "string", *, label: str = "", default: str = "",
                validation: tuple[tuple[str, str | None], ...] = (),
                options: tuple[tuple[str, str], ...] = ()) -> SpiffField:
    field = EnumFormField() if kind == "enum" else SpiffField(kind)
    field.id = fid
    field.type = kind
    field.label = label
    field.default_value = default
    for name, config in validation:
        field.add_validation(name, config)
    for option_id, name in options:
        field.add_option(option_id, name)
    return field


def spiff_form(*fields: SpiffField) -> SpiffForm:
    form = SpiffForm()
    for field in fields:
        form.add_field(field)
    return form


def one(kind: str, **constraints: Any) -> Form:
    """A form with the single field ``v``."""
    return Form((FormField(id="v", type=kind, **constraints),))


def faults(form: Form, data: dict[str, Any] | None) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as info:
        form.validate(data)
    assert info.value.code == "validation_failed"
    details = info.value.details
    assert isinstance(details, dict)
    assert all(isinstance(messages, list) and messages for messages in details.values())
    return details


class TestTypes:
    """Each field type accepts exactly its JSON values: no coercion of strings, and booleans
    are not numbers."""

    @pytest.mark.parametrize(("kind", "value"), [
        ("string", "text"),
        ("string", ""),
        ("long", 3),
        ("long", -5),
        ("long", 0),
        ("long", 2**40),
        ("double", 1),
        ("double", 1.5),
        ("double", -0.25),
        ("boolean", True),
        ("boolean", False),
        ("date", "2027-02-28"),
        ("date", "2028-02-29"),
        ("enum", "a"),
    ])
    def test_accepted(self, kind: str, value: Any) -> None:
        form = one(kind, options=(("a", "A"), ("b", "B")) if kind == "enum" else ())
        assert form.validate({"v": value}) == {"v": value}

    @pytest.mark.parametrize(("kind", "value"), [
        ("string", 1),
        ("string", True),
        ("string", ["a"]),
        ("long", 1.5),
        ("long", 1.0),
        ("long", "1"),
        ("long", True),
        ("long", False),
        ("long", [1]),
        ("double", "1.5"),
        ("double", "1"),
        ("double", True),
        ("double", math.nan),
        ("double", math.inf),
        ("double", -math.inf),
        ("boolean", "true"),
        ("boolean", "false"),
        ("boolean", 1),
        ("boolean", 0),
        ("date", "2027-02-30"),
        ("date", "2027-13-01"),
        ("date", "28/02/2027"),
        ("date", "2027-2-28"),
        ("date", "2027-02-28T00:00:00"),
        ("date", 20270228),
        ("date", True),
        ("enum", "c"),
        ("enum", "A"),
        ("enum", ""),
        ("enum", 1),
    ])
    def test_refused(self, kind: str, value: Any) -> None:
        form = one(kind, options=(("a", "A"), ("b", "B")) if kind == "enum" else ())
        assert list(faults(form, {"v": value})) == ["v"]

    @pytest.mark.parametrize("kind", ["string", "long", "double", "boolean", "date"])
    def test_optional_field_may_be_absent_or_null(self, kind: str) -> None:
        assert one(kind).validate({}) == {}
        assert one(kind).validate(None) == {}
        assert one(kind).validate({"v": None}) == {"v": None}


class TestRequired:
    """A required field must carry a value: absent, null and the empty string all fail."""

    @pytest.mark.parametrize("kind", ["string", "long", "double", "boolean", "date"])
    @pytest.mark.parametrize("data", [{}, {"v": None}, {"v": ""}, None])
    def test_missing(self, kind: str, data: dict[str, Any] | None) -> None:
        assert list(faults(one(kind, required=True), data)) == ["v"]

    def test_messages(self) -> None:
        form = Form((FormField(id="a", type="string", required=True),
                     FormField(id="b", type="string", required=True),
                     FormField(id="c", type="string", required=True)))
        details = faults(form, {"b": None, "c": ""})
        assert details["a"] == ["Missing data for required field."]
        assert details["b"] == ["Field may not be null."]
        assert details["c"] == ["Missing data for required field."]

    @pytest.mark.parametrize(("kind", "value"), [
        ("boolean", False), ("long", 0), ("double", 0.0), ("string", " "),
    ])
    def test_falsy_values_are_values(self, kind: str, value: Any) -> None:
        assert one(kind, required=True).validate({"v": value}) == {"v": value}


class TestConstraints:
    """Length, range and pattern constraints, with inclusive bounds and whole-value patterns."""

    @pytest.mark.parametrize(("value", "ok"), [
        ("ab", False), ("abc", True), ("abcde", True), ("abcdef", False), ("", False),
    ])
    def test_length(self, value: str, ok: bool) -> None:
        form = one("string", minlength=3, maxlength=5)
        if ok:
            assert form.validate({"v": value}) == {"v": value}
        else:
            assert list(faults(form, {"v": value})) == ["v"]

    @pytest.mark.parametrize(("kind", "value", "ok"), [
        ("long", 0, False), ("long", 1, True), ("long", 10, True), ("long", 11, False),
        ("double", 0.999, False), ("double", 1, True), ("double", 10.0, True),
        ("double", 10.001, False), ("double", -5, False),
    ])
    def test_range(self, kind: str, value: float, ok: bool) -> None:
        form = one(kind, minimum=1, maximum=10)
        if ok:
            assert form.validate({"v": value}) == {"v": value}
        else:
            assert list(faults(form, {"v": value})) == ["v"]

    @pytest.mark.parametrize(("pattern", "value", "ok"), [
        (r"3\d{4}L\d{4}", "32019L0790", True),
        (r"3\d{4}L\d{4}", "32019L07901", False),
        (r"3\d{4}L\d{4}", "x32019L0790", False),
        (r"3\d{4}L\d{4}", "32019l0790", False),
        (r"3\d{4}L\d{4}", "32019L0790\n", False),
        (r"yes|no", "no", True),
        (r"yes|no", "yesno", False),
        (r"yes|no", "nope", False),
    ])
    def test_pattern_must_match_the_whole_value(self, pattern: str, value: str,
                                                ok: bool) -> None:
        form = one("string", pattern=pattern)
        if ok:
            assert form.validate({"v": value}) == {"v": value}
        else:
            assert any(pattern in message for message in faults(form, {"v": value})["v"])


class TestSubmission:
    """What a submission as a whole may carry: only the form's fields, never read-only ones,
    with defaults filling what was left out and every fault reported at once."""

    def test_unknown_field(self) -> None:
        form = one("string")
        details = faults(form, {"v": "a", "intruder": 1})
        assert list(details) == ["intruder"]
        assert details["intruder"] == ["Unknown field."]

    def test_no_fields_refuses_any_data(self) -> None:
        assert Form().validate({}) == {}
        assert list(faults(Form(), {"x": 1})) == ["x"]

    def test_readonly(self) -> None:
        form = Form((FormField(id="ref", type="string", readonly=True, default="R-1"),
                     FormField(id="note", type="string")))
        assert faults(form, {"ref": "R-2"}) == {"ref": ["This field is read-only."]}
        assert faults(form, {"ref": None, "note": "n"}) == {"ref": ["This field is read-only."]}
        assert form.validate({"note": "n"}) == {"note": "n"}

    def test_defaults(self) -> None:
        form = Form.from_spiff(spiff_form(
            spiff_field("count", "long", default="3"),
            spiff_field("rate", "double", default="2.5"),
            spiff_field("urgent", "boolean", default="true"),
            spiff_field("silent", "boolean", default="False"),
            spiff_field("due", "date", default="2027-01-15"),
            spiff_field("kind", "enum", default="b", options=(("a", "A"), ("b", "B"))),
            spiff_field("name", "string", default="anonymous"),
            spiff_field("free", "string"),
        ))
        assert form.validate({}) == {"count": 3, "rate": 2.5, "urgent": True, "silent": False,
                                     "due": "2027-01-15", "kind": "b", "name": "anonymous"}
        submitted = form.validate({"count": 7, "urgent": False, "free": "x"})
        assert submitted["count"] == 7
        assert submitted["urgent"] is False
        assert submitted["free"] == "x"
        assert submitted["rate"] == 2.5

    def test_several_faults_are_all_reported(self) -> None:
        form = Form((
            FormField(id="name", type="string", required=True),
            FormField(id="amount", type="double", minimum=0),
            FormField(id="count", type="long"),
            FormField(id="due", type="date"),
            FormField(id="ref", type="string", readonly=True),
            FormField(id="code", type="string", pattern=r"\d+"),
        ))
        details = faults(form, {"amount": -1, "count": "2", "due": "2027-02-30", "ref": "x",
                                "code": "12a", "extra": True})
        assert set(details) == {"name", "amount", "count", "due", "ref", "code", "extra"}

    def test_input_is_not_modified(self) -> None:
        form = Form((FormField(id="ref", type="string", readonly=True),))
        data = {"ref": "x"}
        faults(form, data)
        assert data == {"ref": "x"}


class TestFromSpiff:
    """Forms parsed by SpiffWorkflow turn into typed fields and constraints."""

    def test_fields(self) -> None:
        form = Form.from_spiff(spiff_form(
            spiff_field("title", label="Title", validation=(
                ("required", None), ("minlength", "2"), ("maxlength", "80"),
                ("pattern", "[A-Z].*"))),
            spiff_field("amount", "double", validation=(("min", "0"), ("max", "1e6"))),
            spiff_field("count", "long", validation=(("min", "1"), ("max", "9"),
                                                     ("required", "false"))),
            spiff_field("ref", validation=(("readonly", None),)),
            spiff_field("kind", "enum", options=(("a", "Alpha"), ("b", ""))),
        ))
        title, amount, count, ref, kind = form.fields
        assert form.field_ids == ("title", "amount", "count", "ref", "kind")
        assert (title.label, title.required, title.minlength, title.maxlength,
                title.pattern) == ("Title", True, 2, 80, "[A-Z].*")
        assert (amount.minimum, amount.maximum) == (0.0, 1e6)
        assert (count.minimum, count.maximum, count.required) == (1, 9, False)
        assert isinstance(count.minimum, int)
        assert ref.readonly
        assert kind.options == (("a", "Alpha"), ("b", "b"))
        assert Form.from_spiff(None).fields == ()

    @pytest.mark.parametrize(("bounds", "accepted", "refused"), [
        ((("min", "1.5"),), [2, 3], [1, 0]),
        ((("max", "2.5"),), [2, -9], [3]),
        ((("max", "-1.5"),), [-2], [-1, 0]),
        ((("min", "-2.5"), ("max", "2.0")), [-2, 2], [-3, 3]),
    ])
    def test_long_bounds_are_not_truncated(self, bounds: tuple[tuple[str, str], ...],
                                           accepted: list[int], refused: list[int]) -> None:
        form = Form.from_spiff(spiff_form(spiff_field("n", "long", validation=bounds)))
        for value in accepted:
            assert form.validate({"n": value}) == {"n": value}
        for value in refused:
            assert list(faults(form, {"n": value})) == ["n"]


class TestJsonSchema:
    """The JSON Schema clients render forms from; it must say what validate() enforces."""

    def test_schema(self) -> None:
        form = Form((
            FormField(id="title", type="string", label="Title", required=True, minlength=2,
                      maxlength=80, pattern=r"3\d{4}L\d{4}"),
            FormField(id="count", type="long", minimum=1, maximum=9, default=3),
            FormField(id="amount", type="double", minimum=0.5),
            FormField(id="urgent", type="boolean", default=False),
            FormField(id="due", type="date", required=True),
            FormField(id="kind", type="enum", options=(("a", "Alpha"), ("b", "Beta"))),
            FormField(id="ref", type="string", readonly=True),
        ))
        assert form.json_schema() == {
            "type": "object",
            "properties": {
                "title": {"type": "string", "title": "Title", "minLength": 2, "maxLength": 80,
                          "pattern": r"3\d{4}L\d{4}"},
                "count": {"type": "integer", "minimum": 1, "maximum": 9, "default": 3},
                "amount": {"type": "number", "minimum": 0.5},
                "urgent": {"type": "boolean", "default": False},
                "due": {"type": "string", "format": "date"},
                "kind": {"type": "string", "enum": ["a", "b"],
                         "x-enum-labels": {"a": "Alpha", "b": "Beta"}},
                "ref": {"type": "string", "readOnly": True},
            },
            "required": ["title", "due"],
            "additionalProperties": False,
        }

    def test_empty_form(self) -> None:
        assert Form().json_schema() == {"type": "object", "properties": {}, "required": [],
                                        "additionalProperties": False}


class TestProblems:
    """Deploy-time checks: every fault of a form is reported, naming the field, instead of
    surfacing when a user submits."""

    @pytest.mark.parametrize(("field", "fragment"), [
        (spiff_field("2x"), "'2x' must be a name"),
        (spiff_field("class"), "'class' must be a name"),
        (spiff_field("a-b"), "'a-b' must be a name"),
        (spiff_field("_x"), "'_x' must be a name"),
        (spiff_field("amount", "money"), "type 'money'"),
        (spiff_field("kind", "enum"), "has no values"),
        (spiff_field("n", "long", validation=(("minimum", "1"),)), "unknown constraint"),
        (spiff_field("n", "long", validation=(("min", "ten"),)), "'min' needs a number"),
        (spiff_field("n", "long", validation=(("min", ""),)), "'min' needs a number"),
        (spiff_field("n", "long", validation=(("min", None),)), "'min' needs a number"),
        (spiff_field("n", "long", validation=(("min", "inf"),)), "'min' needs a number"),
        (spiff_field("n", "double", validation=(("max", "nan"),)), "'max' needs a number"),
        (spiff_field("s", validation=(("maxlength", "1.5"),)), "'maxlength' needs a whole"),
        (spiff_field("s", validation=(("maxlength", "ten"),)), "'maxlength' needs a whole"),
        (spiff_field("s", validation=(("minlength", "-1"),)), "'minlength' needs a whole"),
        (spiff_field("s", validation=(("minlength", None),)), "'minlength' needs a whole"),
        (spiff_field("s", validation=(("pattern", "(unclosed"),)), "not a valid regular"),
        (spiff_field("n", "long", validation=(("pattern", r"\d+"),)), "does not apply"),
        (spiff_field("n", "double", validation=(("maxlength", "3"),)), "does not apply"),
        (spiff_field("b", "boolean", validation=(("minlength", "1"),)), "does not apply"),
        (spiff_field("s", validation=(("min", "1"),)), "does not apply"),
        (spiff_field("d", "date", validation=(("max", "2"),)), "does not apply"),
        (spiff_field("k", "enum", validation=(("min", "1"),), options=(("a", "A"),)),
         "does not apply"),
        (spiff_field("n", "long", default="abc"), "default value 'abc' is not a valid long"),
        (spiff_field("n", "long", default="1.5"), "default value '1.5' is not a valid long"),
        (spiff_field("x", "double", default="much"), "is not a valid double"),
        (spiff_field("b", "boolean", default="yes"), "is not a valid boolean"),
        (spiff_field("d", "date", default="2027-02-30"), "is not a valid date"),
        (spiff_field("k", "enum", default="z", options=(("a", "A"),)),
         "default value 'z' is not one of its values"),
    ])
    def test_fault_names_the_field(self, field: SpiffField, fragment: str) -> None:
        found = forms.problems(spiff_form(spiff_field("fine", "long"), field))
        assert len(found) == 1
        fid, message = found[0]
        assert fid == field.id
        assert f"'{field.id}'" in message
        assert fragment in message

    def test_empty_id(self) -> None:
        assert forms.problems(spiff_form(spiff_field(""))) == [
            (None, "form field id '' must be a name made of letters, digits and '_' that "
                   "starts with a letter")]

    def test_duplicate(self) -> None:
        found = forms.problems(spiff_form(spiff_field("a"), spiff_field("b", "long"),
                                          spiff_field("a", "long")))
        assert found == [("a", "form field 'a' is declared twice")]

    def test_all_faults_are_reported(self) -> None:
        found = forms.problems(spiff_form(
            spiff_field("class"),
            spiff_field("amount", "money"),
            spiff_field("n", "long", validation=(("min", "ten"), ("maxlength", "2"))),
            spiff_field("ok", "long", validation=(("min", "1"),)),
        ))
        assert [fid for fid, _ in found] == ["class", "amount", "n", "n"]

    def test_valid_form_has_no_problems(self) -> None:
        form = spiff_form(
            spiff_field("title", validation=(("required", None), ("maxlength", "80"),
                                             ("pattern", r"3\d{4}L\d{4}"))),
            spiff_field("amount", "double", default="0", validation=(("min", "0"),
                                                                     ("max", "1e8"))),
            spiff_field("count", "long", default="1", validation=(("min", "1"),)),
            spiff_field("notified", "boolean", default="false"),
            spiff_field("due", "date", default="2027-01-15", validation=(("readonly", None),)),
            spiff_field("kind", "enum", default="a", options=(("a", "A"),)),
        )
        assert forms.problems(form) == []
        assert forms.problems(None) == []
        assert Form.from_spiff(form).field_ids == ("title", "amount", "count", "notified",
                                                   "due", "kind")


def test_examples_of_a_pattern_field_reach_the_json_schema_and_must_match():
    from SpiffWorkflow.camunda.specs.user_task import Form as SpiffForm
    from SpiffWorkflow.camunda.specs.user_task import FormField as SpiffField

    def form_with(example: str) -> SpiffForm:
        field = SpiffField()
        field.id, field.type, field.label = "celex", "string", "CELEX number"
        field.add_validation("pattern", r"3\d{4}L\d{4}")
        field.add_property("example", example)
        spiff = SpiffForm()
        spiff.add_field(field)
        return spiff

    schema = Form.from_spiff(form_with("32019L0944")).json_schema()["properties"]["celex"]
    assert (schema["pattern"], schema["examples"]) == (r"3\d{4}L\d{4}", ["32019L0944"])
    assert problems(form_with("not-a-celex")) == [
        ("celex", r"form field 'celex': an example does not match the pattern 3\d{4}L\d{4}")]
