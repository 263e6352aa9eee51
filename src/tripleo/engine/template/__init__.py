"""Template layer: YAML loading, version tables, parameters, environments and parsed templates."""
