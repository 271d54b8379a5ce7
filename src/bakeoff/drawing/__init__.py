"""Charts, number formatting and the Figure type: standard library only, shared by the host's
report and the stages' own report sections."""
