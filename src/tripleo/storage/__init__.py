"""tripleo.storage (see DESIGN.md section 3)."""
