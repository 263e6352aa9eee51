"""tripleo.config (see DESIGN.md section 3)."""
