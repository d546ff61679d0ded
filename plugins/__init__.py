"""Plug-in files for GIMP and Krita, shipped as package data (installed by `adastyle install-plugin`)."""
