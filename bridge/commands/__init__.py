"""The jasco-bridge command front ends: one module per sub-command (add_arguments, run)."""
