"""Process definitions: deploy (process owners), list, versions, start form, XML."""

from __future__ import annotations

from flask import Response, abort, request
from flask_smorest import Blueprint

from api.auth import current_actor, require_process_owner
from api.deps import engine, errors
from api.schemas.definitions import (
    DefinitionDetailSchema,
    DefinitionListSchema,
    DeployedSchema,
    VersionArgsSchema,
)
from engine import queries

blp = Blueprint("definitions", __name__, url_prefix="/api/process-definitions",
                description="Deployed BPMN process definitions")

XML_TYPES = ("application/xml", "text/xml")
UPLOAD_DOC = {
    "required": True,
    "content": {
        "multipart/form-data": {"schema": {
            "type": "object",
            "properties": {"files": {"type": "array",
                                     "items": {"type": "string", "format": "binary"}}}}},
        "application/xml": {"schema": {"type": "string"}},
    },
}


def _sources() -> list[tuple[str, bytes]]:
    if request.files:
        return [(upload.filename or field, upload.read())
                for field in request.files for upload in request.files.getlist(field)]
    if request.mimetype in XML_TYPES:
        return [(request.args.get("filename", "upload.bpmn"), request.get_data())]
    abort(415, "send the models as multipart/form-data files or as an application/xml body")


@blp.route("")
@blp.response(200, DefinitionListSchema)
@errors(blp)
def list_definitions():
    """The latest version of every process."""
    return {"items": engine().read(queries.latest_definitions)}


@blp.route("", methods=["POST"])
@blp.doc(requestBody=UPLOAD_DOC)
@blp.response(201, DeployedSchema(many=True), description="New versions were created")
@blp.alt_response(200, schema=DeployedSchema(many=True), description="Nothing changed")
@errors(blp, 403, 413, 415, 422)
def deploy():
    """Deploy BPMN/DMN files (process owners). 422 lists every problem found."""
    actor = require_process_owner()
    deployed = engine().deploy(_sources(), actor)
    status = 200 if all(item.unchanged for item in deployed) else 201
    return deployed, status


@blp.route("/<string:key>")
@blp.response(200, DefinitionDetailSchema)
@errors(blp, 404)
def definition(key: str):
    """The versions of a process, its start form as JSON Schema and who may start it."""
    return engine().definition_detail(key)


@blp.route("/<string:key>/xml")
@blp.arguments(VersionArgsSchema, location="query")
@blp.response(200, description="The BPMN XML",
              content_type="application/xml")
@errors(blp, 404)
def definition_xml(args, key: str):
    current_actor()
    definition = engine().definition(key, args.get("version"))
    return Response(definition.xml, mimetype="application/xml")
