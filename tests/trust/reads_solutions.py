"""Hostile (pipe_chain): loads the instructor's solution from the repository (@REPO@ is filled in by
the test) and hands it in. A separate user finds an empty, read-only folder there."""
import importlib.util

_spec = importlib.util.spec_from_file_location("stolen", "@REPO@/solutions/03_pipes/pipe_chain.py")
_stolen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_stolen)
run_pipeline = _stolen.run_pipeline
