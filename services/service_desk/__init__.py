"""service_desk: not built yet (see its issue). make run starts what a package declares."""
SERVICE = None
GATEWAY = None
