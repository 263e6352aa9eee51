"""tripleo.network (see DESIGN.md section 3)."""
