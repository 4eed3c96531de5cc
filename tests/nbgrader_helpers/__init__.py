"""Helpers of tests/test_nbgrader_workflow.py: a course copy that runs real nbgrader commands
(:mod:`.course`) and the student submissions built from the release notebook
(:mod:`.submissions`)."""
