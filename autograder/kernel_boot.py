"""Start the student's grading kernel (runs inside the sandbox).

``python kernel_boot.py -f CONNECTION_FILE`` is what :mod:`autograder.sandbox`
starts. It imports what answer cells usually need (numpy, cnnlib) so that the
first cell does not pay for it, installs the student kernel's side of the
checker protocol (:mod:`student_server`, registered as
``_autograder_student``) and runs ipykernel.

Nothing in this kernel is trusted. The test cells never run here: they run in
the grader's checker kernel, which calls the student's functions through the
protocol and takes back only plain data (see :mod:`autograder.checker`).

This is a file of its own, not part of the autograder package, because only
this file and the two it imports (``wire.py``, ``student_server.py``) are
visible inside the sandbox.
"""

import sys


def main():
    import numpy  # noqa: F401
    import student_server
    from ipykernel.kernelapp import IPKernelApp

    try:
        import cnnlib  # noqa: F401
    except Exception:  # the kernel also serves notebooks without cnnlib
        pass
    app = IPKernelApp.instance()
    app.initialize(sys.argv[1:])
    student_server.install(app.shell)
    app.start()


if __name__ == "__main__":
    main()
