"""The AdaStyle plug-in toolkit: what the GIMP plug-in, the Krita docker and the core share.

Standard library only (Python 3.8+), because GIMP and Krita run it in their own Python without numpy,
PIL or torch. `adastyle install-plugin` copies this package beside the plug-in; the core imports it
like any other package, so a rule (a limit, a colour mode, how weights are read) is written once.
"""
