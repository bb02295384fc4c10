"""The SMS channel: grammar (pure parser), CHW registry lookup, gateway payloads and replies."""
