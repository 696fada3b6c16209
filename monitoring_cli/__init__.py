"""The ``monitoring`` command: the service's roles, the demo, replay and evaluation.

It sits above everything it starts: the service (``monitoring``), the simulated
cohort of the demo (``simulators``) and offline evaluation (``evaluation``).
The service package itself never imports the simulators.
"""
