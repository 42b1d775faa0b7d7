"""The course maintainers' tools (students never need them).

- :mod:`course_tools.notebooks`: the one builder of every notebook, the lectures
  and the nbgrader assignments, and their shared setup cell.
- :mod:`course_tools.questions`: the assignments' kinds of question (a graded function, a
  constant), each an answer cell and its test cell.
"""
