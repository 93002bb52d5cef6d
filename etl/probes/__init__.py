"""Probe maths, probe kinds, and nearest/score/search over probe sets."""
