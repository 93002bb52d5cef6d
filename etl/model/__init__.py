"""The probed model: loading, hooks, residual means, sampling and steering hooks (the only torch code)."""
