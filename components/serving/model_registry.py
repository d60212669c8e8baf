"""Registers each pushed model in the Vertex AI Model Registry (cloud runs with the cloud
config's ``model_registry:`` section), beside the AtomicPusher's serving folder on GCS.

A model pushed before under the same display name becomes the parent, so the registry holds
one model with a version per push (and the alias ``latest`` on the newest); a run whose model
was not blessed, or was already served, registers nothing.
"""
import json

from absl import logging
from tfx.dsl.component.experimental.annotations import InputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import PushedModel


def registry_upload(display_name: str, artifact_uri: str, serving_image: str, labels: dict,
                    description: str = "") -> dict:
    """The Vertex AI Model fields for one pushed version (checked offline by aiplatform_v1.Model)."""
    return {"display_name": display_name, "artifact_uri": artifact_uri, "description": description,
            "labels": dict(labels), "container_spec": {"image_uri": serving_image}}


@component
def VertexModelRegistry(pushed_model: InputArtifact[PushedModel], project: Parameter[str], region: Parameter[str],
                        display_name: Parameter[str], serving_image: Parameter[str], labels_json: Parameter[str]) -> None:
    if not pushed_model.has_custom_property("pushed") or not pushed_model.get_int_custom_property("pushed"):
        logging.info("nothing pushed by this run: nothing to register")
        return
    from google.cloud import aiplatform

    fields = registry_upload(display_name, pushed_model.get_string_custom_property("pushed_destination"),
                             serving_image, json.loads(labels_json))
    aiplatform.init(project=project, location=region)
    existing = aiplatform.Model.list(filter=f'display_name="{display_name}"', order_by="create_time desc")
    model = aiplatform.Model.upload(
        display_name=fields["display_name"], artifact_uri=fields["artifact_uri"], labels=fields["labels"],
        serving_container_image_uri=serving_image, parent_model=existing[0].resource_name if existing else None,
        is_default_version=True, version_aliases=["latest"])
    logging.info("registered %s version %s", model.resource_name, model.version_id)
