"""Spec models and readers."""

from sloctl.spec.loader import SpecSet, load_specs
from sloctl.spec.models import SLO

__all__ = ["SLO", "SpecSet", "load_specs"]
