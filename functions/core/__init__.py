"""Domain code shared by the Lambda handlers, the GPU worker and the embedded stack."""
