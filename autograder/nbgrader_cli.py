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
- nbgrader checks every graded cell's metadata with ``jsonschema.validate``,
  which first checks nbgrader's own schema against the JSON-Schema metaschema:
  twice per cell, every notebook. :class:`MetadataSchema` checks each schema
  once per process and validates the cells exactly as before (same errors).

Everything else is plain ``nbgrader``.
"""

import json
import sys
import threading


def alembic_head() -> str:
    """The newest revision of nbgrader's gradebook schema (what ``alembic heads`` prints first)."""
    from alembic.script import ScriptDirectory
    from nbgrader import dbutil

    return ScriptDirectory(dbutil.ALEMBIC_DIR).get_current_head()


class MetadataSchema:
    """Stands in for the ``jsonschema`` module in nbgrader's metadata validator: ``validate``
    as jsonschema's, with each schema checked against its metaschema once per process."""

    def __init__(self):
        self._validators = {}
        self._lock = threading.Lock()

    def validate(self, instance, schema) -> None:
        import jsonschema

        key = json.dumps(schema, sort_keys=True)  # each validator object reads the schema file anew
        with self._lock:
            validator = self._validators.get(key)
            if validator is None:
                cls = jsonschema.validators.validator_for(schema)
                cls.check_schema(schema)
                validator = self._validators[key] = cls(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error


def start_faster() -> None:
    """Before nbgrader is used in this process: refuse ``rfc3987_syntax``, read the schema
    revision in this process, check nbgrader's metadata schema once (see the module docstring)."""
    sys.modules.setdefault("rfc3987_syntax", None)  # an import of it raises ImportError
    import nbgrader.api
    import nbgrader.nbgraderformat.common

    nbgrader.api.get_alembic_version = alembic_head  # Gradebook() looks the name up in its module
    if not isinstance(nbgrader.nbgraderformat.common.jsonschema, MetadataSchema):
        nbgrader.nbgraderformat.common.jsonschema = MetadataSchema()  # only validate_cell uses the name


def main() -> int:
    start_faster()
    from nbgrader.apps.nbgraderapp import main as nbgrader_main

    sys.argv[0] = "nbgrader"
    return nbgrader_main()


if __name__ == "__main__":
    sys.exit(main())
