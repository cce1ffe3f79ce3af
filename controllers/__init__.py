"""Controllers of the emulated cluster, each watching through informers (see DESIGN.md)."""

__all__: list[str] = []
