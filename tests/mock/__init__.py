"""Small stand-ins for the hosts' APIs (Krita's document model, GIMP's gi), for unit tests of the plug-ins.

The real-app tests (tests/realapp) remain the proof that the plug-ins work in GIMP and Krita; these
mocks let the plug-ins' own logic be tested in milliseconds, one behaviour per test.
"""
