"""``python -m autograder.nbgrader_cli ARGS``: nbgrader's command line, started faster.

Two of nbgrader's costs that buy nothing here are removed (:func:`start_faster`),
in this command and in the grading workers (:mod:`autograder.worker`):

- jsonschema (imported by nbformat and jupyter_server, which nbgrader loads)
  imports ``rfc3987_syntax`` when it is installed, for its "iri" format checker,
  and that module compiles a Lark grammar on import: seconds for every nbgrader
  process. No notebook or nbgrader schema checks that format, so the import is
  refused.
- A new gradebook asks the ``alembic`` command for the newest revision of
  nbgrader's schema, and that command imports nbgrader again, each time a
  template gradebook is made (benchmarks/NOTES.md). :func:`alembic_head` reads
  the same revision from nbgrader's migration scripts in this process.

Everything else is plain ``nbgrader``.
"""

import sys


def alembic_head() -> str:
    """The newest revision of nbgrader's gradebook schema (what ``alembic heads`` prints first)."""
    from alembic.script import ScriptDirectory
    from nbgrader import dbutil

    return ScriptDirectory(dbutil.ALEMBIC_DIR).get_current_head()


def start_faster() -> None:
    """Before nbgrader is used in this process: refuse ``rfc3987_syntax``, read the schema
    revision in this process (see the module docstring)."""
    sys.modules.setdefault("rfc3987_syntax", None)  # an import of it raises ImportError
    import nbgrader.api

    nbgrader.api.get_alembic_version = alembic_head  # Gradebook() looks the name up in its module


def main() -> int:
    start_faster()
    from nbgrader.apps.nbgraderapp import main as nbgrader_main

    sys.argv[0] = "nbgrader"
    return nbgrader_main()


if __name__ == "__main__":
    sys.exit(main())
