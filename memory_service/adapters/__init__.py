"""One provider a module: implementations of the ports in ``memory_service.ports``."""
