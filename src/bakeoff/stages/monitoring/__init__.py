"""Model monitoring: which drift monitor warns in time without crying wolf, at what cost."""
