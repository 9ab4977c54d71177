"""The live board: the network as neuron boxes with LEDs and faces in a browser.

`session.LiveBoard` runs a Network on the engine or on the twin's units in
short chunks and turns each chunk into a frame (spikes, LED colours,
moods, membrane traces, weights, a task's state, the twin's losses);
`inputs` feeds the spike sources (Poisson, a task's patterns, a finger);
`views` reads the engine and the twin alike; `tasks` are the live XOR and
digits tasks; `vehicle` drives a Braitenberg vehicle in its arena with the
network (its light and obstacles dragged by a finger); `server` streams the
frames over a WebSocket to the static page in `static/` and applies what
the page asks for (touch, draw, sliders, speed, pause, step, reset,
learning, reward, twin switch, faults, drags);
`replay` writes a self-contained HTML replay of a run; `demos` builds the
demo networks.
"""
