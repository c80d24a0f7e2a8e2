"""Animation engines: turn a driving face into the animated portrait."""
