"""Hardware targets: physical units (`unit`), the LED colour map (`led`), the ATmega8 firmware (`avr`)."""
