"""The sensor bridge: sensors in, rules, store-and-forward delivery to VMS sinks."""
