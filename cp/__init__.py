"""cpemu's API machinery: typed Kubernetes objects, apiserver semantics, informers and runtime.

The embedding API (`from cp import ControlPlane`) arrives with the runtime; see DESIGN.md.
"""

__all__: list[str] = []
