"""`visio capacity`: what a stack needs at its peak and what it costs a month."""
