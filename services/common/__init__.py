"""The shared kit: infrastructure only, no business rules."""
