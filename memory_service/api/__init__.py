"""The REST API: FastAPI app factory, routers, DTOs and the error handler."""
