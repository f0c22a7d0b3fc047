"""Known Python sandbox escapes and denial-of-service attempts, run on every build.

Each must be refused with the sandbox's own :class:`ExpressionError`: never another
exception, never a hang, never a result. Those the syntax gives away are refused at deploy
time by ``check`` too; the others only fail with the instance's data, and at run time they
are a refused command or an incident, never a crashed worker.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from conftest import ADMIN, BROKEN, CASE_WORKER

from engine import queries
from engine.calendar.days import LegalCalendar
from engine.clock import ManualClock
from engine.errors import DeploymentFailed
from engine.expressions import ExpressionError, Sandbox, check
from engine.expressions.bounds import MAX_CONTAINERS, MAX_SIZE, MAX_WORK, Budget
from engine.expressions.functions import builtin_functions
from engine.expressions.scripts import parse_script
from engine.expressions.spiff import SandboxEnvironment

FUNCTIONS = builtin_functions(ManualClock(datetime(2027, 1, 4, tzinfo=UTC)), LegalCalendar())
NAMES = {"x": "%s", "n": 10**6, "text": "ab", "items": [0, 1], "d": {"a": 1}}

#: refused by the static check (at deploy time) as well as at evaluation
STATIC = [
    # subclass walks and dunder chains
    "().__class__.__bases__[0].__subclasses__()",
    "().__class__.__base__.__subclasses__()",
    "[].__class__.__mro__[1].__subclasses__()",
    "x.__class__.__mro__",
    "x.__dict__",
    "str.__dict__",
    "x.__init__.__globals__['sys']",
    "x.__reduce_ex__(2)",
    "x.__getattribute__('__class__')",
    "x._private",
    "_secret",
    "__builtins__",
    "__builtins__['eval']('1')",
    "__import__('os')",
    "__import__('os').system('id')",
    # the sandbox's own functions
    "now.__globals__",
    "now.__globals__['__builtins__']",
    "today.__code__",
    "len.__self__",
    "min.__self__.__import__('os')",
    "is_empty.__closure__",
    "date.__wrapped__",
    "x.upper.__self__",
    # frames, tracebacks, generators, coroutines
    "x.gi_frame.f_back.f_globals",
    "x.gi_code",
    "x.tb_frame",
    "x.tb_next",
    "x.cr_frame",
    "x.ag_frame",
    "x.f_back",
    "x.f_globals",
    "x.func_globals",
    "(i for i in x).gi_frame",
    # formatting
    "'{0.__class__}'.format(x)",
    "'{x.__init__.__globals__}'.format(x=x)",
    "x.format_map({})",
    "f'{x.__class__}'",
    "f'{x}'",
    "f'{x!r:>{10**9}}'",
    "'%s' % (1,)",
    "'%0200000d' % 1",
    "'%*d' % (10**6, 1)",
    # reflection with computed names
    "getattr(x, '__cl' + 'ass__')",
    "setattr(x, 'y', 1)",
    "delattr(x, 'y')",
    "hasattr(x, 'y')",
    "vars(x)",
    "dir(x)",
    "type(x)",
    "type('C', (), {})",
    "type.__subclasses__(type)",
    "object.__subclasses__()",
    "super()",
    "x.mro()",
    "str.mro()",
    "classmethod(x)",
    "property(x)",
    "max(x, key=type)",
    # code execution, files, the interpreter
    "eval('1')",
    "exec('x=1')",
    "compile('1', 'f', 'eval')",
    "open('/etc/passwd')",
    "open('/etc/passwd').read()",
    "globals()",
    "locals()",
    "breakpoint()",
    "help()",
    "input()",
    "exit()",
    "quit()",
    "print(1)",
    "foo(1)",
    "list(x)",
    "memoryview(x)",
    # lambdas, comprehensions, generators, walrus, unpacking
    "lambda: 1",
    "(lambda: 1)()",
    "(lambda: 1).__code__",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "[i for i in x]",
    "{i for i in x}",
    "{i: i for i in x}",
    "(i for i in x)",
    "sum(i for i in x)",
    "[x for x in range(10**9)]",
    "sum(range(10**12))",
    "range(10**9)",
    "(y := 1)",
    "[*x]",
    "f(*x)",
    "len(**d)",
    "yield x",
    "await x",
    # calls of what is not a named function or a safe method
    "x[0]()",
    "(x or len)(x)",
    "x.y.replace('a', 'b')",
    "'{}'.join(x)",
    "''.join(['x'] * 10)",
    "str.join('', x)",
    # bytes, complex
    "b'bytes'",
    "bytes(10**9)",
    "bytearray(10**9)",
    "1j",
    "(-8) ** 0.5",
    # huge powers, repetitions, integers
    "9**9**9",
    "2**10**8",
    "2 ** 10000000",
    "10 ** 4301",
    "'a' * 10**10",
    "[0] * 10**9",
    "'x' * 10**6 * 10**6",
    "[[0] * 1000] * 10**6",
    "(1,) * 10**7",
    "'a' * 999999 + 'bb'",
    "1 / 0",
    # deep nesting
    "(" * 10_000 + "1" + ")" * 10_000,
    "[" * 10_000 + "]" * 10_000,
    "-(" * 150 + "1" + ")" * 150,
    "-" * 3000 + "1",
    "not " * 150 + "x",
    "[" * 150 + "]" * 150,
    "x" + ".a" * 150,
    "x" + " + x" * 150,
]

#: well-formed; refused only when evaluated with :data:`NAMES`
AT_RUN_TIME = [
    "x % 1",
    "x % (1,)",
    "text * n",
    "items * n * n",
    "str([text] * n)",
    "[items] * n",
    "(text * 400000, text * 400000, text * 400000)",
    "int('9' * 4000) * int('9' * 4000)",
    "n ** n",
    "round(1, -10**8)",
    "str(n) * n",
    "add_working_days('2027-01-01', 10**7)",
    "working_days_between('1000-01-01', '9000-01-01')",
    "d[x * n]",
    "x.split(x * n)",
]


def sandbox() -> Sandbox:
    return Sandbox(FUNCTIONS)


def test_the_corpus_is_large_and_has_no_duplicates() -> None:
    corpus = STATIC + AT_RUN_TIME
    assert len(corpus) >= 40
    assert len(set(corpus)) == len(corpus)


@pytest.mark.parametrize("text", STATIC + AT_RUN_TIME)
def test_refused_on_evaluation_quickly(text: str) -> None:
    began = time.perf_counter()
    with pytest.raises(ExpressionError) as info:
        sandbox().evaluate(text, NAMES)
    assert info.value.message
    assert len(info.value.message) < 500
    assert time.perf_counter() - began < 2


@pytest.mark.parametrize("text", STATIC)
def test_refused_at_deploy_time(text: str) -> None:
    with pytest.raises(ExpressionError):
        check(text, FUNCTIONS)


@pytest.mark.parametrize("text", AT_RUN_TIME)
def test_run_time_attempts_pass_the_static_check(text: str) -> None:
    check(text, FUNCTIONS)


@pytest.mark.parametrize("script", [f"a = {text}" for text in STATIC[:40]])
def test_refused_in_scripts_at_deploy_time(script: str) -> None:
    with pytest.raises(ExpressionError):
        parse_script(script, FUNCTIONS)


class TestBounds:
    """The bounds themselves: what fits, what exceeds, and how it is said."""

    @pytest.mark.parametrize(("text", "fragment"), [
        ("'a' * 10**10", "repetition exceeds 1,000,000 characters or elements"),
        ("text * n", "repetition exceeds"),
        ("9**9**9", "power exceeds 4,300 digits"),
        ("10 ** 4301", "integer exceeds 4,300 digits"),
        ("int('9' * 4000) * int('9' * 4000)", "product exceeds 4,300 digits"),
        ("round(1, -10**8)", "exceeds 4,300 digits"),
        ("add_working_days('2027-01-01', 10**7)", "exceeds 36,600"),
        ("'a' * 999999 + 'bb'", "concatenation exceeds"),
        ("(text * 400000, text * 400000, text * 400000)", "tuple, set or dict exceeds"),
    ])
    def test_the_message_says_what_exceeds(self, text: str, fragment: str) -> None:
        with pytest.raises(ExpressionError, match="exceeds") as info:
            sandbox().evaluate(text, NAMES)
        assert fragment in info.value.message

    @pytest.mark.parametrize(("text", "size"), [
        ("'a' * 10**6", MAX_SIZE),
        ("[0] * 10**6", MAX_SIZE),
        ("len(str(10 ** 4000))", 4001),
        ("len(text * 500000)", MAX_SIZE),
    ])
    def test_up_to_the_bound_is_fine(self, text: str, size: int) -> None:
        value = sandbox().evaluate(text, NAMES)
        assert (value if isinstance(value, int) else len(value)) == size

    def test_work_is_bounded_even_without_big_values(self) -> None:
        big = list(range(MAX_SIZE - 1))
        other = list(range(MAX_SIZE - 1))
        text = " and ".join(["big == other"] * (MAX_WORK // MAX_SIZE))
        began = time.perf_counter()
        with pytest.raises(ExpressionError, match="budget"):
            sandbox().evaluate(text, {"big": big, "other": other})
        assert time.perf_counter() - began < 2

    def test_measuring_is_bounded_for_deeply_shared_data(self) -> None:
        records = [{"a": i, "b": "x"} for i in range(MAX_CONTAINERS + 1)]
        with pytest.raises(ExpressionError, match="exceeds"):
            sandbox().evaluate("[records]", {"records": records})
        assert sandbox().evaluate("len(records)", {"records": records}) == MAX_CONTAINERS + 1
        assert sandbox().evaluate("records[0].a", {"records": records}) == 0

    def test_a_script_shares_one_budget(self) -> None:
        line = "a = [0] * 900000\n"
        environment = SandboxEnvironment(sandbox())
        environment.execute(line * 2, {})
        with pytest.raises(ExpressionError, match="budget"):
            environment.execute(line * 6, {})

    def test_scripts_cannot_grow_values_from_line_to_line(self) -> None:
        script = "a = [x] * 1000\nb = [a, a, a, a, a, a, a, a, a, a]\nc = [b] * 100"
        with pytest.raises(ExpressionError, match="exceeds"):
            SandboxEnvironment(sandbox()).execute(script, {"x": "0123456789"})

    def test_a_budget_measures_shared_values_once(self) -> None:
        budget = Budget()
        row = [0] * 1000
        assert budget.size([row] * 1000) == MAX_SIZE
        assert budget.size([[row] * 1000] * 2) == MAX_SIZE + 1


# -- at run time: a command refused, an incident opened, never a crash --------------------

EXPLODING = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="exploding_defs" targetNamespace="http://biflow.brussels/test">
  <bpmn:process id="exploding" name="Exploding" isExecutable="true">
    <bpmn:startEvent id="begin">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="text" type="string" />
          <camunda:formField id="n" type="long" />
        </camunda:formData>
      </bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:userTask id="fill" name="Fill" camunda:candidateGroups="licensing-unit">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="times" type="long" />
        </camunda:formData>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:scriptTask id="grow" name="Grow" scriptFormat="python">
      <bpmn:script>grown = text * times</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:intermediateCatchEvent id="pause" name="Pause">
      <bpmn:timerEventDefinition>
        <bpmn:timeDuration>PT1H</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="grow_later" name="Grow later" scriptFormat="python">
      <bpmn:script>later = text * n</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="finish" />
    <bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="fill" />
    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="grow" />
    <bpmn:sequenceFlow id="f3" sourceRef="grow" targetRef="pause" />
    <bpmn:sequenceFlow id="f4" sourceRef="pause" targetRef="grow_later" />
    <bpmn:sequenceFlow id="f5" sourceRef="grow_later" targetRef="finish" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def exploding(engine):
    engine.deploy([("exploding.bpmn", EXPLODING)])
    return engine.start("exploding", actor=CASE_WORKER, data={"text": "ab", "n": 10**6})


def test_a_command_whose_expression_explodes_is_refused_and_changes_nothing(
        engine, client, exploding):
    [task] = engine.instance_detail(exploding.id, actor=ADMIN).ready_tasks
    before = engine.instance(exploding.id)
    response = client.post(f"/api/tasks/{task.id}/complete", "bob",
                           json={"data": {"times": 10**6}})
    assert response.status_code in (409, 422), response.get_json()
    error = response.get_json()["error"]
    assert "exceeds" in error["message"] and "grow" in error["message"]
    after = engine.instance(exploding.id)
    assert (after.state, after.workflow, after.updated_at) == (
        before.state, before.workflow, before.updated_at)
    assert engine.task(task.id).state == task.state
    done = client.post(f"/api/tasks/{task.id}/complete", "bob", json={"data": {"times": 2}})
    assert done.status_code == 200, done.get_json()


def test_a_timer_whose_path_explodes_opens_an_incident_and_the_worker_goes_on(
        engine, clock, exploding):
    [task] = engine.instance_detail(exploding.id, actor=ADMIN).ready_tasks
    engine.complete_task(task.id, {"times": 2}, actor=CASE_WORKER)
    clock.advance(timedelta(hours=2))
    assert isinstance(engine.run_due(), int)
    [incident] = engine.read(queries.incidents)
    assert "exceeds" in incident.message
    assert engine.instance(exploding.id).state == "running"
    assert engine.run_due() == 0  # held by the incident, the worker idle and well


def test_a_model_with_exploding_expressions_is_refused_naming_each_element(engine):
    with pytest.raises(DeploymentFailed) as failure:
        engine.deploy_paths([BROKEN / "exploding_expressions.bpmn"])
    found = {p.element_id: p.message for p in failure.value.problems}
    assert "repetition exceeds" in found["grow"]
    assert "power exceeds" in found["wait_forever"]
    assert "repetition exceeds" in found["f_huge"]
