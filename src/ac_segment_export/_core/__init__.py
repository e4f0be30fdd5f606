"""The I/O-free core: errors, secrets, hosts, wire models, request/response, retry, pacing."""
