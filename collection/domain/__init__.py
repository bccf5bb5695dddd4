"""The pure core of collection: arithmetic and decisions, no I/O, no clock."""
