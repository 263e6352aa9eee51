"""Deployments keep their config as written; config download gets it filled in with the inputs."""

from __future__ import annotations

from tripleo.engine.state import ActionContext
from tripleo.resources.software import ConfigBook, Deployment, SoftwareConfig, derived_config


def test_a_structured_deployment_is_filled_in_only_when_read() -> None:
    book = ConfigBook()
    config = SoftwareConfig("OS::Heat::StructuredConfig", book)
    made = config.create(
        ActionContext("C", "C", "s", "cfg-1", 0, {}),
        {"group": "hiera", "config": {"datafiles": {"all": {"nodes": {"get_input": "all_nodes"}}}}},
    )
    book.configs["cfg-1"] = made.data["config"]
    deployment = Deployment("OS::Heat::StructuredDeployment", book)
    props = {"config": "cfg-1", "server": "srv-1", "input_values": {"all_nodes": ["n0", "n1"]}, "name": "D"}
    outcome = deployment.create(ActionContext("Ctl/0/D", "D", "s", "dep-1", 0, {}), props)
    # stored as written: one all-nodes input per member is not copied into every record
    assert outcome.data["derived_config"]["config"] == {
        "datafiles": {"all": {"nodes": {"get_input": "all_nodes"}}}
    }
    derived = derived_config(outcome.data, props)
    assert derived["config"] == {"datafiles": {"all": {"nodes": ["n0", "n1"]}}}
    assert (derived["group"], derived["name"]) == ("hiera", "D")
    server = derived_config(
        {**outcome.data, "derived_config": {"config": {"id": {"get_input": "deploy_server_id"}}}}, props
    )
    assert server["config"] == {"id": "srv-1"}  # Heat's deploy_* inputs too


def test_a_software_deployment_config_is_left_as_it_is() -> None:
    book = ConfigBook()
    book.configs["cfg"] = {"id": "cfg", "group": "script", "config": "echo {get_input: x}", "outputs": []}
    deployment = Deployment("OS::Heat::SoftwareDeployment", book)
    props = {"config": "cfg", "server": "srv", "input_values": {"x": 1}}
    outcome = deployment.create(ActionContext("D", "D", "s", "d", 0, {}), props)
    assert derived_config(outcome.data, props)["config"] == "echo {get_input: x}"
