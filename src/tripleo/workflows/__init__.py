"""Workflows: operations that span layers (a stack, its nodes, its networks, config download), like
tripleo-common's workflows under python-tripleoclient. The CLI calls these; they call the layers below.
"""
