"""No models of its own. The module exists so that migrate sends this app a
post_migrate signal, which creates the global groups (see apps.py)."""
