"""eie-sim: a cycle-level simulator of EIE."""
