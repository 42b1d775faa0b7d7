"""``python -m autograder.nbgrader_cli ARGS``: nbgrader's command line, started faster.

jsonschema (imported by nbformat and jupyter_server, which nbgrader loads) imports
``rfc3987_syntax`` when it is installed, for its "iri" format checker, and that
module compiles a Lark grammar on import: seconds for every nbgrader process, and
the grader starts two per submission. No notebook or nbgrader schema checks that
format, so the import is refused here; everything else is plain ``nbgrader``.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # an import of it raises ImportError

from nbgrader.apps.nbgraderapp import main  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = "nbgrader"
    sys.exit(main())
