"""The selfie2anime command line and the embedded stack that runs the pipeline on one machine."""
