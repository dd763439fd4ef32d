"""Node functions of the published 0.5.0 example net (demo.netrun.toml)."""


def double(x: int) -> int:
    return 2 * x


def add_offset(x: int, ctx) -> int:
    offset = ctx.vars["offset"] if hasattr(ctx, "vars") else 7
    return x + offset
