"""`adastyle batch`: many frames (folders, videos, animation frames) on one machine or a Ray cluster.

inputs (what to stylise and where each output goes) -> job (passes, atomic outputs, resume, progress)
-> backend (local Stylizer, or Ray Data actors) ; stability (content statistics smoothed across frames);
video (PyAV in and out).
"""
