"""``CamundaParser`` subclass that keeps what SpiffWorkflow drops.

- user tasks: candidate groups/users, assignee, due and follow-up dates, priority, the
  form (also when no ``formKey`` is set, as Camunda Modeler's generated forms have none),
  the lane as candidate group when the task names none;
- start events: their form;
- service tasks: ``camunda:type="external"`` and ``camunda:topic``;
- processes: ``candidateStarterGroups``/``candidateStarterUsers``, version tag, properties.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.ProcessParser import ProcessParser
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    EndEvent,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
    StartEvent,
)
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import (
    CamundaBoundaryEventParser,
    CamundaEndEventParser,
    CamundaIntermediateCatchEventParser,
    CamundaIntermediateThrowEventParser,
    CamundaStartEventParser,
)
from SpiffWorkflow.camunda.parser.task_spec import (
    CAMUNDA_MODEL_NS,
    CamundaTaskParser,
    UserTaskParser,
)
from SpiffWorkflow.camunda.specs.user_task import EnumFormField, Form, FormField

from engine.dialect.messages import MergingMessagesMixin
from engine.dialect.specs import (
    Assignment,
    ExternalServiceTask,
    ProcessMeta,
    UserTask,
    slugify,
    split_list,
)
from engine.dialect.timers import TimerEventsMixin

CAMUNDA = "{" + CAMUNDA_MODEL_NS + "}"
NSMAP = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "camunda": CAMUNDA_MODEL_NS}


def read_form(node) -> Form:
    """Read the ``camunda:formData`` of an element into SpiffWorkflow's form classes."""
    form = Form()
    form.key = node.get(f"{CAMUNDA}formKey") or ""
    path = "./bpmn:extensionElements/camunda:formData/camunda:formField"
    for xml_field in node.xpath(path, namespaces=NSMAP):
        field = EnumFormField() if xml_field.get("type") == "enum" else FormField()
        field.id = xml_field.get("id")
        field.type = xml_field.get("type")
        field.label = xml_field.get("label")
        field.default_value = xml_field.get("defaultValue")
        for child in xml_field:
            if child.tag == f"{CAMUNDA}properties":
                for prop in child:
                    field.add_property(prop.get("id"), prop.get("value"))
            elif child.tag == f"{CAMUNDA}validation":
                for constraint in child:
                    field.add_validation(constraint.get("name"), constraint.get("config"))
            elif child.tag == f"{CAMUNDA}value" and isinstance(field, EnumFormField):
                field.add_option(child.get("id"), child.get("name"))
        form.add_field(field)
    return form


class BiflowUserTaskParser(UserTaskParser):
    def create_task(self):
        lane_group = (slugify(self.lane),) if self.lane else ()
        groups = split_list(self.attribute("candidateGroups", "camunda"))
        users = split_list(self.attribute("candidateUsers", "camunda"))
        assignee = self.attribute("assignee", "camunda") or None
        if not (groups or users or assignee):
            groups = lane_group
        assignment = Assignment(
            candidate_groups=groups,
            candidate_users=users,
            assignee=assignee,
            due_date=self.attribute("dueDate", "camunda") or None,
            follow_up_date=self.attribute("followUpDate", "camunda") or None,
            priority=self.attribute("priority", "camunda") or None,
        )
        return self.spec_class(self.spec, self.bpmn_id, form=read_form(self.node),
                               assignment=assignment, **self.bpmn_attributes)


class BiflowServiceTaskParser(CamundaTaskParser):
    def create_task(self):
        topic = None
        if self.attribute("type", "camunda") == "external":
            topic = self.attribute("topic", "camunda") or None
        return self.spec_class(self.spec, self.bpmn_id, topic=topic, **self.bpmn_attributes)


class EventsMixin(TimerEventsMixin, MergingMessagesMixin):
    """Timers on the engine clock, message payloads as variables, ``camunda:properties``
    kept (``payload:FIELD`` declarations of a message's payload)."""

    def create_task(self):
        task = super().create_task()
        task.properties = {prop.get("name"): prop.get("value") for prop in self.xpath(
            "./bpmn:extensionElements/camunda:properties/camunda:property")}
        return task


class BiflowStartEventParser(EventsMixin, CamundaStartEventParser):
    def create_task(self):
        task = super().create_task()
        task.form = read_form(self.node)
        return task


class BiflowEndEventParser(EventsMixin, CamundaEndEventParser):
    pass


class BiflowCatchEventParser(EventsMixin, CamundaIntermediateCatchEventParser):
    pass


class BiflowThrowEventParser(EventsMixin, CamundaIntermediateThrowEventParser):
    pass


class BiflowBoundaryEventParser(EventsMixin, CamundaBoundaryEventParser):
    pass


class BiflowProcessParser(ProcessParser):
    def create_spec(self):
        spec = super().create_spec()
        properties = {
            prop.get("name"): prop.get("value")
            for prop in self.xpath("./bpmn:extensionElements/camunda:properties/camunda:property")
        }
        spec.meta = ProcessMeta(
            starter_groups=split_list(self.attribute("candidateStarterGroups", "camunda")),
            starter_users=split_list(self.attribute("candidateStarterUsers", "camunda")),
            version_tag=self.attribute("versionTag", "camunda"),
            properties=properties,
        )
        return spec


class BiflowParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (BiflowUserTaskParser, UserTask),
        full_tag("serviceTask"): (BiflowServiceTaskParser, ExternalServiceTask),
        full_tag("startEvent"): (BiflowStartEventParser, StartEvent),
        full_tag("endEvent"): (BiflowEndEventParser, EndEvent),
        full_tag("intermediateCatchEvent"): (BiflowCatchEventParser, IntermediateCatchEvent),
        full_tag("intermediateThrowEvent"): (BiflowThrowEventParser, IntermediateThrowEvent),
        full_tag("boundaryEvent"): (BiflowBoundaryEventParser, BoundaryEvent),
    }
    PROCESS_PARSER_CLASS = BiflowProcessParser
