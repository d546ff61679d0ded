"""`adastyle batch`: many frames (folders, videos, animation frames) on one machine or a Ray cluster.

inputs (what to stylise and where each output goes) -> job (passes, atomic outputs, resume, progress)
-> backend (local Stylizer, or Ray actors), each frame a `StylizeRequest` of the run's one `StyleOptions`;
video (PyAV in and out). The smoothing of a sequence's statistics is the core's (`adastyle.stability`).
"""
