"""An app module that fails at import time."""
raise ImportError("this module is broken on purpose")
