"""Getting messages out: the clock-driven loop, routing to phones and connectors."""
