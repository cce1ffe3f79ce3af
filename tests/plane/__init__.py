"""Tests of `cp.plane`: the embedding API (`ControlPlane`)."""
