# Tiny test kernels (placeholder until tests/kernels lands).
kernels:
