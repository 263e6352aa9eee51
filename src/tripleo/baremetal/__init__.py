"""tripleo.baremetal (see DESIGN.md section 3)."""
