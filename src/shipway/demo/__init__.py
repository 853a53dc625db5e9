"""The bundled demo: a flight-delay model on nycflights13 (CC0; Hadley Wickham, BTS, ASOS)."""
