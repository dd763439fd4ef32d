"""Small helpers shared by every layer of netrun (no netrun imports above ``netrun.errors``)."""
