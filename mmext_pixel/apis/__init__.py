"""What the command lines of ``tools/`` run, importable by users and tests:
each module turns a tool's options into a configured mmengine run."""
