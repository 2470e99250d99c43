"""Where requests enter and answers leave: the servicer, request parsing, response encoding, auth."""
