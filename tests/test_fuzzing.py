"""Property-based tests: whatever text or data comes in, the sandbox and the forms answer
with a value or with their own refusal, never with a stray exception, a hang or a crash."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.calendar.days import LegalCalendar
from engine.clock import ManualClock
from engine.errors import ValidationFailed
from engine.expressions import ExpressionError, Sandbox, camunda, check
from engine.expressions.functions import builtin_functions
from engine.expressions.scripts import parse_script
from engine.forms import FIELD_TYPES, Form, FormField

FAST = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
FUNCTIONS = builtin_functions(ManualClock(datetime(2027, 1, 4, tzinfo=UTC)), LegalCalendar())
SANDBOX = Sandbox(FUNCTIONS)

scalars = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.text(max_size=20) | st.sampled_from(["2027-01-15", "2027-01-15T09:00:00Z", ""]))
json_like = st.recursive(scalars, lambda children: st.lists(children, max_size=5)
                         | st.dictionaries(st.text(max_size=8), children, max_size=5),
                         max_leaves=20)
names = st.dictionaries(st.sampled_from(["x", "y", "n", "items", "d", "text"]), json_like)

# -- Python-ish expressions, from tokens and from a small grammar ------------------------

TOKENS = [
    "x", "y", "n", "items", "d", "text", "1", "0", "-1", "10", "2.5", "1e308", "10**4300",
    "'a'", "'%s'", "''", "True", "None", "[", "]", "(", ")", "{", "}", ",", ":", ".", "+",
    "-", "*", "**", "/", "//", "%", "==", "<", "in", "not", "and", "or", "if", "else", "is",
    "lower", "split", "get", "keys", "__class__", "_x", "len", "str", "int", "round",
    "max", "min", "date", "add_days", "add_working_days", "working_days_between", "now",
    "is_empty", "${", "}", "&&", "||", "!", "eq", "empty", "lambda", "for", "[0]",
]
token_soup = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=15).map(" ".join)

atoms = st.sampled_from(["x", "y", "n", "items", "d", "text", "0", "1", "-7", "3.5", "10**6",
                         "'ab'", "'2027-01-15'", "None", "True", "[1, 2]", "{'a': 1}"])


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(
        ["+", "-", "*", "/", "//", "%", "**", "==", "<", "in", "and", "or"]), children)
    calls = st.tuples(st.sampled_from(sorted(FUNCTIONS)), st.lists(children, max_size=3))
    methods = st.tuples(children, st.sampled_from(["lower", "split", "get", "count",
                                                   "startswith", "keys"]),
                        st.lists(children, max_size=2))
    return st.one_of(
        binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        calls.map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        methods.map(lambda t: f"{t[0]}.{t[1]}({', '.join(t[2])})"),
        st.tuples(children, children).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.tuples(children, children, children).map(lambda t: f"{t[0]} if {t[1]} else {t[2]}"),
        st.lists(children, max_size=4).map(lambda items: f"[{', '.join(items)}]"),
        children.map(lambda c: f"not {c}"),
        children.map(lambda c: f"-{c}"),
    )


grammar = st.recursive(atoms, _combine, max_leaves=12)
expressions = st.one_of(st.text(max_size=60), token_soup, grammar,
                        grammar.map(lambda text: "${" + text + "}"))


class TestExpressions:
    @FAST
    @given(text=expressions, values=names)
    def test_evaluate_answers_a_value_or_an_expression_error(self, text: str,
                                                             values: dict[str, Any]) -> None:
        try:
            SANDBOX.evaluate(text, values)
        except ExpressionError as exc:
            assert exc.message

    @FAST
    @given(text=expressions)
    def test_check_answers_a_compiled_expression_or_an_expression_error(self,
                                                                         text: str) -> None:
        with contextlib.suppress(ExpressionError):
            check(text, FUNCTIONS)

    @FAST
    @given(text=expressions)
    def test_translation_answers_text_or_a_translation_error(self, text: str) -> None:
        with contextlib.suppress(camunda.TranslationError):
            assert isinstance(camunda.translate(text), str)

    def test_translation_of_deeply_nested_empty_is_refused(self) -> None:
        with contextlib.suppress(camunda.TranslationError):
            camunda.translate("empty(" * 2000 + "x" + ")" * 2000)

    @FAST
    @given(lines=st.lists(st.tuples(st.sampled_from(["a", "b", "_c", "x"]), expressions),
                          min_size=1, max_size=4),
           junk=st.text(max_size=30))
    def test_scripts_parse_or_are_refused(self, lines: list[tuple[str, str]],
                                          junk: str) -> None:
        script = "\n".join(f"{name} = {text}" for name, text in lines)
        for candidate in (script, junk, script + "\n" + junk):
            with contextlib.suppress(ExpressionError):
                parse_script(candidate, FUNCTIONS)


# -- forms: random fields, random data ---------------------------------------------------

identifiers = st.from_regex(re.compile(r"[a-z][a-z0-9_]{0,6}", re.ASCII), fullmatch=True)


@st.composite
def form_fields(draw: st.DrawFn) -> FormField:
    kind = draw(st.sampled_from(FIELD_TYPES))
    textual, numeric = kind in ("string", "enum", "date"), kind in ("long", "double")
    small = st.integers(0, 20)
    bound = st.floats(-1e6, 1e6, allow_nan=False) if numeric else st.none()
    options = tuple((o, o) for o in draw(st.lists(identifiers, min_size=1, max_size=3,
                                                  unique=True))) if kind == "enum" else ()
    return FormField(
        id=draw(identifiers), type=kind,
        required=draw(st.booleans()), readonly=draw(st.booleans()),
        minlength=draw(small | st.none()) if textual else None,
        maxlength=draw(small | st.none()) if textual else None,
        minimum=draw(bound), maximum=draw(bound),
        pattern=draw(st.sampled_from([None, "[a-z]*", "\\d{4}", "(a|b)+"])) if textual else None,
        options=options,
        default=draw(st.none() | scalars),
    )


forms = st.lists(form_fields(), max_size=5, unique_by=lambda field: field.id).map(
    lambda fields: Form(tuple(fields)))


@st.composite
def submissions(draw: st.DrawFn, form: Form) -> Any:
    """Data aimed at the form's fields (so validation gets past unknown keys), or anything."""
    aimed = st.fixed_dictionaries({}, optional={f: json_like for f in form.field_ids})
    return draw(st.one_of(aimed, st.dictionaries(st.text(max_size=8), json_like), st.none(),
                          json_like))


class TestForms:
    @FAST
    @given(data=st.data(), form=forms)
    def test_validate_answers_a_dict_or_validation_failed(self, data: st.DataObject,
                                                          form: Form) -> None:
        submitted = data.draw(submissions(form))
        try:
            clean = form.validate(submitted)
        except ValidationFailed as exc:
            assert exc.details
        else:
            assert isinstance(clean, dict)
            assert set(clean) <= set(form.field_ids)

    @FAST
    @given(form=forms)
    def test_json_schema_is_always_made(self, form: Form) -> None:
        assert form.json_schema()["type"] == "object"

    def test_data_that_is_not_an_object_is_refused(self) -> None:
        """Found by the property above: a list or a number gave a raw TypeError/ValueError."""
        for data in ([["a", 1]], "0", True, 3):
            try:
                Form(()).validate(data)  # type: ignore[arg-type]
            except ValidationFailed as exc:
                assert "_" in exc.details
            else:
                raise AssertionError(f"{data!r} was accepted")
