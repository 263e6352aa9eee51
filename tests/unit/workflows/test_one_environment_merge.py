"""Issue 13: one environment merge. The network plan reads the engine's merged environment, so an
environment using parameter_merge_strategies gives the network checks and the IPAM the same CIDRs and
pools as the stack that is deployed."""

from __future__ import annotations

from pathlib import Path

import yaml

from tripleo import engine
from tripleo.network.environment import load_plan
from tripleo.workflows.services import load_network_environment

TEMPLATE = {
    "heat_template_version": "wallaby",
    "parameters": {
        "InternalApiNetCidr": {"type": "string"},
        "InternalApiAllocationPools": {"type": "json"},
    },
    "outputs": {
        "cidr": {"value": {"get_param": "InternalApiNetCidr"}},
        "pools": {"value": {"get_param": "InternalApiAllocationPools"}},
    },
}


def test_a_merge_strategy_environment_gives_the_same_cidrs_to_the_stack_and_the_network_plan(
    tmp_path: Path,
) -> None:
    first = {
        "parameter_defaults": {
            "InternalApiNetCidr": "172.17.0.0/24",
            "InternalApiAllocationPools": [{"start": "172.17.0.10", "end": "172.17.0.50"}],
        }
    }
    second = {
        "parameter_merge_strategies": {"InternalApiAllocationPools": "merge"},
        "parameter_defaults": {
            "InternalApiNetCidr": "172.17.0.0/24",
            "InternalApiAllocationPools": [{"start": "172.17.0.100", "end": "172.17.0.150"}],
        },
    }
    paths = []
    for i, data in enumerate((first, second)):
        path = tmp_path / f"env{i}.yaml"
        path.write_text(yaml.safe_dump(data))
        paths.append(str(path))
    template = tmp_path / "t.yaml"
    template.write_text(yaml.safe_dump(TEMPLATE))

    outputs = engine.load_tree(str(template), paths).outputs
    assert len(outputs["pools"]) == 2  # merged, not replaced
    plan = load_plan(load_network_environment(paths))
    internal = plan.network("InternalApi")
    assert internal is not None
    assert str(internal.cidr) == outputs["cidr"]
    pools = [(str(p.start), str(p.end)) for p in internal.subnet.pools]
    assert pools == [(p["start"], p["end"]) for p in outputs["pools"]]
