"""tripleo.resources (see DESIGN.md section 3)."""
