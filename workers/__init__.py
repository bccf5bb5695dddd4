"""Background work: the Dramatiq broker, thin actors and the periodic scheduler."""
