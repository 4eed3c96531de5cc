"""nbgrader settings for EVERY single-user server of the hub (students, instructors, the grader).

The hub puts this folder on JUPYTER_CONFIG_PATH (see ../jupyterhub_config.py); on a server where
the single-user servers do not get that variable, copy this file to /etc/jupyter/.
"""

import os

c = get_config()  # noqa: F821  (provided by traitlets)

# One course on this hub: its id is the name of the formgrader service (nbgrader's rule).
c.CourseDirectory.course_id = "nnscratch"

# The exchange: one folder every user server can write to (mode 1777). The hub creates it.
c.Exchange.root = os.environ.get("NNSCRATCH_EXCHANGE", "/srv/nbgrader/exchange")
