"""The expression sandbox: what process models may write, and everything it must refuse."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from engine.calendar.days import LegalCalendar
from engine.clock import ManualClock
from engine.expressions import ExpressionError, Sandbox, camunda, check, compile_expression
from engine.expressions.functions import builtin_functions
from engine.expressions.literals import is_iso8601
from engine.expressions.sandbox import MAX_EXPRESSION_LENGTH
from engine.expressions.scripts import parse_script
from engine.expressions.spiff import SandboxEnvironment

START = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sandbox(clock: ManualClock) -> Sandbox:
    return Sandbox(builtin_functions(clock, LegalCalendar()))


FUNCTIONS = frozenset(builtin_functions(ManualClock(START), LegalCalendar()))


class TestCamundaSyntax:
    """Models drawn in Camunda Modeler use ``${...}`` and JUEL operators; they must mean the same
    as the Python spelling, and text inside string literals must never be rewritten."""

    @pytest.mark.parametrize(("text", "names", "expected"), [
        ("${a && b}", {"a": True, "b": False}, False),
        ("${a && b}", {"a": True, "b": True}, True),
        ("${a || b}", {"a": False, "b": True}, True),
        ("${a || b}", {"a": False, "b": False}, False),
        ("${!a}", {"a": True}, False),
        ("${!a}", {"a": False}, True),
        ("${!(a && b)}", {"a": True, "b": False}, True),
        ("${a == b}", {"a": 1, "b": 1}, True),
        ("${a != b}", {"a": 1, "b": 1}, False),
        ("${a != b}", {"a": 1, "b": 2}, True),
        ("${empty x}", {"x": ""}, True),
        ("${empty x}", {"x": None}, True),
        ("${empty x}", {"x": []}, True),
        ("${empty x}", {"x": "text"}, False),
        ("${empty x}", {"x": 0}, False),
        ("${not empty x}", {"x": [1]}, True),
        ("${not empty x}", {"x": {}}, False),
        ("${!empty x}", {"x": "a"}, True),
        ("${empty a.b}", {"a": {"b": []}}, True),
        ("${empty a.b}", {"a": {"b": [0]}}, False),
        ("${empty a.b[0]}", {"a": {"b": [""]}}, True),
        ("${empty (x)}", {"x": None}, True),
        ("${empty (x)}", {"x": "y"}, False),
        ("${empty x && y}", {"x": "", "y": True}, True),
        ("${x eq 1}", {"x": 1}, True),
        ("${x ne 1}", {"x": 1}, False),
        ("${x lt 2}", {"x": 1}, True),
        ("${x gt 2}", {"x": 1}, False),
        ("${x le 1}", {"x": 1}, True),
        ("${x ge 2}", {"x": 1}, False),
        ("${x gt 1 and x lt 5}", {"x": 3}, True),
        ("${x lt 1 or x gt 5}", {"x": 3}, False),
        ("${not (x eq 3)}", {"x": 3}, False),
        ("${x == true}", {"x": True}, True),
        ("${x == false}", {"x": True}, False),
        ("${x == null}", {"x": None}, True),
        ("${x div 2}", {"x": 9}, 4.5),
        ("${x mod 4}", {"x": 9}, 1),
        ("${a.eq == 1}", {"a": {"eq": 1}}, True),
        ("${a.empty}", {"a": {"empty": 7}}, 7),
        ("#{x > 1}", {"x": 2}, True),
        ("#{x gt 1 && y}", {"x": 2, "y": False}, False),
        ("  ${ x > 1 }  ", {"x": 2}, True),
        ("a && b", {"a": True, "b": True}, True),
        ("prénom == 'Zoë'", {"prénom": "Zoë"}, True),
        ("${prénom eq 'Zoë'}", {"prénom": "Zoë"}, True),
        ("${empty prénom}", {"prénom": ""}, True),
    ])
    def test_camunda_syntax_evaluates(self, sandbox: Sandbox, text: str, names: dict[str, Any],
                                      expected: Any) -> None:
        assert sandbox.evaluate(text, names) == expected

    @pytest.mark.parametrize(("text", "value"), [
        ('${x == "a&&b"}', "a&&b"),
        ('${x == "a||b"}', "a||b"),
        ('${x == "!done"}', "!done"),
        ("${x == 'eq ne lt gt'}", "eq ne lt gt"),
        ("${x == 'empty y'}", "empty y"),
        ("${x == 'true or null'}", "true or null"),
        ('${x == "it\\"s && ok"}', 'it"s && ok'),
        ("${x == '}'}", "}"),
    ])
    def test_string_literals_are_not_translated(self, sandbox: Sandbox, text: str,
                                                value: str) -> None:
        assert sandbox.evaluate(text, {"x": value}) is True
        assert sandbox.evaluate(text, {"x": value + "?"}) is False

    @pytest.mark.parametrize(("text", "python"), [
        ("${a && b}", "a and b"),
        ("${a || !b}", "a or not b"),
        ("${empty a.b}", "is_empty(a.b)"),
        ("${not empty x}", "not is_empty(x)"),
        ("${x eq null}", "x == None"),
        ("${a == 'x && y'}", "a == 'x && y'"),
        ("amount > 50000 and urgent", "amount > 50000 and urgent"),
        ("x eq 1", "x eq 1"),  # JUEL words only inside ${...}
    ])
    def test_translate(self, text: str, python: str) -> None:
        assert " ".join(camunda.translate(text).split()) == python

    @pytest.mark.parametrize("text", [
        "x > 1 ${y}",
        "${a} && ${b}",
        "prefix #{x}",
        "${x",
        "${x == 'open}",
        "${}",
    ])
    def test_partial_wrapping_is_refused(self, sandbox: Sandbox, text: str) -> None:
        with pytest.raises(ExpressionError):
            sandbox.check(text)

    def test_translation_error_is_a_value_error(self) -> None:
        with pytest.raises(camunda.TranslationError, match="whole expression"):
            camunda.translate("x > 1 ${y}")


class TestPlainExpressions:
    """The Python subset: names from instance data, attribute access on dicts, safe methods and
    the built-in functions, with the clock-reading ones bound to the engine clock."""

    @pytest.mark.parametrize(("amount", "urgent", "expected"), [
        (50001, True, True),
        (50000, True, False),
        (50001, False, False),
        (0, True, False),
        (1e9, True, True),
        (60000.5, 1, 1),
    ])
    def test_gateway_condition(self, sandbox: Sandbox, amount: float, urgent: Any,
                               expected: Any) -> None:
        assert sandbox.evaluate("amount > 50000 and urgent", {"amount": amount,
                                                              "urgent": urgent}) == expected

    @pytest.mark.parametrize(("text", "names", "expected"), [
        ("applicant.country == 'BE'", {"applicant": {"country": "BE"}}, True),
        ("applicant.address.city", {"applicant": {"address": {"city": "Brussels"}}}, "Brussels"),
        ("applicant['country']", {"applicant": {"country": "LU"}}, "LU"),
        ("items[1]", {"items": [10, 20, 30]}, 20),
        ("items[-1]", {"items": [10, 20, 30]}, 30),
        ("items[0:2]", {"items": [10, 20, 30]}, [10, 20]),
        ("rows[0]['k']", {"rows": [{"k": 5}]}, 5),
        ("name.lower()", {"name": "ÉTAT"}, "état"),
        ("name.upper().strip()", {"name": " be "}, "BE"),
        ("name.startswith('32')", {"name": "32019L0790"}, True),
        ("code.split('-')", {"code": "a-b"}, ["a", "b"]),
        ("d.get('missing', 0)", {"d": {}}, 0),
        ("len(items)", {"items": [1, 2, 3]}, 3),
        ("len(name) > 3", {"name": "ab"}, False),
        ("min(a, b)", {"a": 3, "b": 2}, 2),
        ("max(items)", {"items": [4, 9, 1]}, 9),
        ("round(x * 0.01, 2)", {"x": 1234}, 12.34),
        ("abs(x)", {"x": -4}, 4),
        ("is_empty(x)", {"x": []}, True),
        ("is_empty(x)", {"x": 0}, False),
        ("'BE' in countries", {"countries": ["BE", "NL"]}, True),
        ("x if flag else y", {"x": 1, "y": 2, "flag": False}, 2),
        ("x is None", {"x": None}, True),
        ("1 <= x < 10", {"x": 10}, False),
        ("x % 3", {"x": 10}, 1),
        ("-x + 2 ** 10", {"x": 24}, 1000),
        ("{'a': 1, 'b': x}['b']", {"x": 8}, 8),
        ("date('2027-03-01T10:00:00Z')", {}, "2027-03-01"),
    ])
    def test_plain_expression(self, sandbox: Sandbox, text: str, names: dict[str, Any],
                              expected: Any) -> None:
        assert sandbox.evaluate(text, names) == expected

    def test_clock_functions_read_the_injected_clock(self, sandbox: Sandbox,
                                                     clock: ManualClock) -> None:
        assert sandbox.evaluate("now()", {}) == "2027-01-04T08:00:00+00:00"
        assert sandbox.evaluate("today()", {}) == "2027-01-04"
        assert sandbox.evaluate("deadline > today()", {"deadline": "2027-01-05"}) is True
        clock.set(datetime(2027, 1, 6, 0, 30, tzinfo=UTC))
        assert sandbox.evaluate("now()", {}) == "2027-01-06T00:30:00+00:00"
        assert sandbox.evaluate("deadline > today()", {"deadline": "2027-01-05"}) is False

    def test_evaluation_does_not_keep_names_between_calls(self, sandbox: Sandbox) -> None:
        assert sandbox.evaluate("x", {"x": 1}) == 1
        with pytest.raises(ExpressionError, match="'x' is not defined"):
            sandbox.evaluate("x", {})

    def test_compiled_expression_names(self) -> None:
        compiled = check("${amount > limit && !empty applicant.name}", FUNCTIONS)
        assert compiled.names == {"amount", "limit", "applicant", "is_empty"}
        assert compiled.literal is None


class TestIsoLiterals:
    """Timer values are ISO 8601 text; ``PT10H`` is a valid Python name, so it must be taken
    as a literal before it is ever looked up as a variable."""

    @pytest.mark.parametrize("text", [
        "P30D", "PT10H", "P1Y2M", "P1W", "P1DT2H30M", "PT0.5S", "R/P1Y", "R3/PT10H",
        "R/2027-01-15T00:00:00Z/P1D", "2027-01-15T00:00:00Z", "2027-01-15T10:00", "2027-01-15",
        "2027-01-15T10:00:00+01:00",
    ])
    def test_iso8601_literals(self, sandbox: Sandbox, text: str) -> None:
        assert is_iso8601(text)
        assert is_iso8601(f"  {text}  ")
        compiled = sandbox.check(text)
        assert compiled.literal == text
        assert compiled.names == frozenset()
        assert sandbox.evaluate(text, {}) == text
        assert sandbox.evaluate(text, {text: "a variable of the same name"}) == text

    @pytest.mark.parametrize("text", [
        "P30", "30D", "amount", "P", "PT", "P1YT", "PT1D", "R3", "2027-1-15", "P30D and x",
        "p30d", "",
    ])
    def test_not_iso8601(self, text: str) -> None:
        assert not is_iso8601(text)

    def test_name_that_is_not_a_literal_is_looked_up(self, sandbox: Sandbox) -> None:
        assert sandbox.evaluate("P30", {"P30": "thirty"}) == "thirty"
        with pytest.raises(ExpressionError):
            sandbox.evaluate("amount", {})


class TestRefusals:
    """How refusals are worded and where they happen (the corpus of attempts itself is in
    test_sandbox_corpus.py)."""

    @pytest.mark.parametrize(("text", "fragment"), [
        ("x.__class__", "attribute '__class__'"),
        ("_secret", "name '_secret'"),
        ("eval('1')", "name 'eval'"),
        ("lambda: 1", "lambda"),
        ("[i for i in x]", "comprehension"),
        ("(i for i in x)", "generator"),
        ("f'{x}'", "f-string"),
        ("(y := 1)", ":="),
        ("[*x]", "unpacking"),
        ("b'x'", "byte strings"),
        ("1j", "complex numbers"),
        ("x.mro()", "attribute 'mro'"),
        ("x.format_map({})", "attribute 'format_map'"),
        ("x.gi_frame", "attribute 'gi_frame'"),
        ("len(**x)", "unpacking (**)"),
        ("not " * 101 + "x", "deeper than 100 levels"),
        ("9 ** 9 ** 9", "a power exceeds 4,300 digits (in '9 ** 9 ** 9')"),
        ("x + 1 / 0", "ZeroDivisionError"),
    ])
    def test_compile_names_the_fault(self, text: str, fragment: str) -> None:
        with pytest.raises(ExpressionError) as info:
            compile_expression(text)
        assert fragment in info.value.message
        assert info.value.expression == text

    @pytest.mark.parametrize(("text", "fragment"), [
        ("foo(1)", "unknown function 'foo'"),
        ("print(1)", "unknown function 'print'"),
        ("str.join('', x)", "method 'join'"),
        ("x.replace('a', 'b')", "method 'replace'"),
        ("x[0]()", "only named functions"),
    ])
    def test_check_names_the_refused_call(self, text: str, fragment: str) -> None:
        compile_expression(text)  # well-formed: only the call check refuses it
        with pytest.raises(ExpressionError, match=fragment):
            check(text, FUNCTIONS)

    def test_functions_are_only_those_given(self) -> None:
        assert check("len(x)", {"len"}).names == {"len", "x"}
        with pytest.raises(ExpressionError, match="unknown function 'len'"):
            check("len(x)")

    @pytest.mark.parametrize("text", [
        "", "   ", "\n", "amount >", "(a", "a b", "a = 1", "x ==== 1", "'open", "1 +",
        "if x: y", "import os", "${x &&}",
    ])
    def test_empty_and_malformed_expressions_are_refused(self, text: str) -> None:
        with pytest.raises(ExpressionError):
            check(text, FUNCTIONS)

    def test_none_is_refused(self) -> None:
        with pytest.raises(ExpressionError, match="empty"):
            compile_expression(None)  # type: ignore[arg-type]

    def test_length_limit(self) -> None:
        fits = "x" + " or x" * ((MAX_EXPRESSION_LENGTH - 1) // 5)
        assert len(fits) <= MAX_EXPRESSION_LENGTH
        assert check(fits, FUNCTIONS).names == {"x"}
        too_long = fits + " " * (MAX_EXPRESSION_LENGTH - len(fits) + 1)
        with pytest.raises(ExpressionError, match=str(MAX_EXPRESSION_LENGTH)):
            check(too_long, FUNCTIONS)

    def test_deeply_nested_expression_is_refused_not_crashing(self) -> None:
        with pytest.raises(ExpressionError):
            check("(" * 1000 + "1" + ")" * 1000, FUNCTIONS)


class TestEvaluationFailures:
    """A model fault at run time must surface as ExpressionError (rolled back as a process
    error), never as a raw Python exception."""

    @pytest.mark.parametrize(("text", "names", "fragment"), [
        ("undefined > 1", {}, "'undefined' is not defined"),
        ("1 / x", {"x": 0}, "ZeroDivisionError"),
        ("x // 0", {"x": 1}, "ZeroDivisionError"),
        ("x % 0", {"x": 1}, "ZeroDivisionError"),
        ("1 + x", {"x": "a"}, "TypeError"),
        ("x < 'a'", {"x": 1}, "TypeError"),
        ("d['missing']", {"d": {}}, "KeyError"),
        ("items[5]", {"items": [1]}, "IndexError"),
        ("int('abc')", {}, "ValueError"),
        ("date('not a date')", {}, "ValueError"),
        ("len(x)", {"x": 5}, "TypeError"),
        ("d.missing", {"d": {}}, "'missing' does not exist"),
        ("x.lower()", {"x": 1}, "'lower' does not exist"),
        ("now(1)", {}, "TypeError"),
    ])
    def test_evaluation_errors_become_expression_errors(self, sandbox: Sandbox, text: str,
                                                        names: dict[str, Any],
                                                        fragment: str) -> None:
        with pytest.raises(ExpressionError) as info:
            sandbox.evaluate(text, names)
        assert fragment in info.value.message
        assert info.value.expression == text


class TestScripts:
    """Script tasks: one ``name = expression`` per line, every expression through the sandbox,
    and SpiffWorkflow's eval/exec replaced by the sandbox environment."""

    def test_parse_script(self) -> None:
        assignments = parse_script("a = 1\nb = a + 2\n\nfee = round(b * 0.01, 2)", FUNCTIONS)
        assert [a.target for a in assignments] == ["a", "b", "fee"]
        assert [a.expression.source for a in assignments] == ["1", "a + 2", "round(b * 0.01, 2)"]
        assert assignments[1].expression.names == {"a"}

    @pytest.mark.parametrize(("script", "fragment"), [
        ("", "empty"),
        ("  \n ", "empty"),
        ("import os", "line 1"),
        ("from os import path", "line 1"),
        ("def f(): pass", "line 1"),
        ("class C: pass", "line 1"),
        ("x.y = 1", "line 1"),
        ("x['y'] = 1", "line 1"),
        ("a, b = 1, 2", "line 1"),
        ("a = b = 1", "line 1"),
        ("a += 1", "line 1"),
        ("a: int = 1", "line 1"),
        ("for i in x: pass", "line 1"),
        ("while True: pass", "line 1"),
        ("len(x)", "line 1"),
        ("_x = 1", "'_x'"),
        ("a = 1\n__builtins__ = 2", "line 2"),
        ("a = ().__class__", "line 1: the attribute '__class__'"),
        ("a = 1\nb = open('f')", "line 2: the name 'open'"),
        ("a = 1\nb = foo(a)", "line 2: unknown function 'foo'"),
        ("a = [i for i in x]", "comprehension"),
        ("a = 1\nb = (", "syntax error"),
    ])
    def test_script_refusals(self, script: str, fragment: str) -> None:
        with pytest.raises(ExpressionError) as info:
            parse_script(script, FUNCTIONS)
        assert fragment in info.value.message

    def test_environment_execute_updates_context(self, sandbox: Sandbox) -> None:
        environment = SandboxEnvironment(sandbox)
        context: dict[str, Any] = {"keep": "yes"}
        assert environment.execute("a = 1\nb = a * 2\nc = today()", context) is True
        assert context == {"keep": "yes", "a": 1, "b": 2, "c": "2027-01-04"}

    def test_environment_execute_sees_external_context(self, sandbox: Sandbox) -> None:
        environment = SandboxEnvironment(sandbox)
        context: dict[str, Any] = {"x": 3}
        environment.execute("y = x + limit", context, {"limit": 10, "x": 100})
        assert context == {"x": 3, "y": 13}

    def test_environment_execute_refuses_before_running(self, sandbox: Sandbox) -> None:
        environment = SandboxEnvironment(sandbox)
        context: dict[str, Any] = {}
        with pytest.raises(ExpressionError):
            environment.execute("a = 1\nimport os", context)
        assert context == {}

    @pytest.mark.parametrize(("text", "context", "expected"), [
        ("x > 1", {"x": 2}, True),
        ("x > 1", {"x": 1}, False),
        ("${x gt 1 && !empty y}", {"x": 2, "y": "a"}, True),
        ("P5D", {}, "P5D"),
    ])
    def test_environment_evaluate(self, sandbox: Sandbox, text: str, context: dict[str, Any],
                                  expected: Any) -> None:
        assert SandboxEnvironment(sandbox).evaluate(text, context) == expected

    def test_environment_evaluate_refuses(self, sandbox: Sandbox) -> None:
        with pytest.raises(ExpressionError):
            SandboxEnvironment(sandbox).evaluate("x.__class__", {"x": 1})
