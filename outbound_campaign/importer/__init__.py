"""Helpers of the contact import that need no ORM: column matching, row fitting and cleaning,
phone normalisation on both cores, set-based insertion with COPY. Used by ``wizards/``."""
