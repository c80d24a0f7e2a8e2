"""The live pipeline: capture → track → animate → compose → sinks, owned by one orchestrator."""
