"""Dependency graphs: topological order and cycle detection (each named, for error messages)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["find_cycle", "toposort"]


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """Return one cycle as ``[a, b, ..., a]`` (a requires b requires ... a), or None.

    ``graph`` maps a node to the nodes it requires; unknown targets are ignored.
    """
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    for start in graph:
        if colour[start] != white:
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        colour[start] = grey
        trail = [start]
        while stack:
            node, pending = stack[-1]
            if not pending:
                colour[node] = black
                stack.pop()
                trail.pop()
                continue
            nxt = pending.pop()
            state = colour.get(nxt)
            if state is None or state == black:
                continue
            if state == grey:
                return [*trail[trail.index(nxt) :], nxt]
            colour[nxt] = grey
            trail.append(nxt)
            stack.append((nxt, sorted(graph[nxt])))
    return None


def toposort(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """Nodes in an order where each comes after everything it requires (ValueError on a cycle)."""
    remaining = {node: {d for d in deps if d in graph} for node, deps in graph.items()}
    users: dict[str, list[str]] = {node: [] for node in graph}
    for node, deps in remaining.items():
        for dep in deps:
            users[dep].append(node)
    ready = [node for node, deps in remaining.items() if not deps]
    order: list[str] = []
    while ready:
        node = ready.pop()
        order.append(node)
        for user in users[node]:
            deps = remaining[user]
            deps.discard(node)
            if not deps:
                ready.append(user)
    if len(order) != len(graph):
        cycle = find_cycle(graph)
        raise ValueError(" -> ".join(cycle or []))
    return order
