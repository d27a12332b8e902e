"""One request interface for every transport.

The REST routers and the MCP tools both call this package: ``inputs`` and ``outputs``
hold the request and response models, ``messages``, ``memories``, ``retrieval`` and
``bulk`` map one request to the domain calls (one function per operation), ``call`` is
who is calling (the tenant, its unit of work), and ``ratelimit`` the per-key limits.
A transport translates only its own specifics around them: headers, status codes,
cursors as query parameters, tool errors.
"""
